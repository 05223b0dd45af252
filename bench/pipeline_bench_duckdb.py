"""The Partner Central silver/gold logic in DuckDB SQL over Parquet, for bench/pipeline_bench.py.

Mirrors ``lakehouse.partner_central.transforms.silver`` and ``gold_ace`` rule for rule: the same JSON schema
(generated from ``lakehouse.partner_central.transforms.payloads``), quarantine reasons, Amount pattern, keyed email
hashes (HMAC-SHA256 in SQL), phone masks, latest version by (LastModifiedDate, ingested_at, sha256), the
same columns in silver, and the same YAML quality suites evaluated as SQL counts (quarantine / warn / fail).
Parquet has no MERGE: the incremental run writes a new silver snapshot (previous rows minus the changed keys,
plus the changed rows). Gold is recomputed from silver.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pipeline_bench as pb
import pipeline_bench_data as gen

AMOUNT = r"^(0|[1-9][0-9]{0,15})(\.[0-9]{0,2})?$"
EMAIL = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
PII_KEYS = ("Email", "FirstName", "LastName", "Phone")
KEYS = ("tenant_id", "opportunity_id")


def _json_structure(dtype: Any) -> Any:
    """A DuckDB json_transform structure from a Spark type (strings stay strings, as in the Spark schema)."""
    from pyspark.sql.types import ArrayType, StructType

    if isinstance(dtype, StructType):
        return {f.name: _json_structure(f.dataType) for f in dtype.fields}
    if isinstance(dtype, ArrayType):
        return [_json_structure(dtype.elementType)]
    return "VARCHAR"


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _hmac_sql(value: str, key: bytes) -> str:
    """HMAC-SHA256(key, value) as hex, in SQL (as lakehouse.privacy.hmac_sha256_hex)."""
    block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    ipad, opad = bytes(b ^ 0x36 for b in block).hex(), bytes(b ^ 0x5C for b in block).hex()
    return f"sha256(unhex('{opad}') || unhex(sha256(unhex('{ipad}') || encode({value}))))"


def _contact_sql(c: str, key: bytes) -> str:
    email = f"nullif(lower(trim({c}.Email)), '')"
    digits = f"regexp_replace({c}.Phone, '[^0-9]', '', 'g')"
    phone = (
        f"CASE WHEN {c}.Phone IS NULL OR length({digits}) = 0 THEN NULL "
        f"WHEN length({digits}) <= 2 THEN '+' || repeat('*', length({digits})) "
        f"ELSE '+' || repeat('*', length({digits}) - 2) || right({digits}, 2) END"
    )
    return (
        f"struct_pack(email_hash := CASE WHEN {email} IS NULL THEN NULL ELSE {_hmac_sql(email, key)} END, "
        f"phone_masked := {phone}, business_title := {c}.BusinessTitle)"
    )


def _blank(v: str) -> str:
    return f"({v} IS NULL OR trim({v}) = '')"


def _ts(v: str) -> str:
    return f"CASE WHEN {_blank(v)} THEN NULL ELSE try_cast({v} AS TIMESTAMPTZ) END"


def _day(v: str) -> str:
    return f"CASE WHEN {_blank(v)} THEN NULL ELSE try_strptime({v}, '%Y-%m-%d')::DATE END"


def _amount_ok(v: str) -> str:
    return f"({_blank(v)} OR regexp_full_match(trim({v}), {_q(AMOUNT)}))"


def _amount(v: str) -> str:
    return f"CASE WHEN {_amount_ok(v)} AND NOT {_blank(v)} THEN CAST(trim({v}) AS DECIMAL(18,2)) END"


def _redact(v: str) -> str:
    keys = "|".join(PII_KEYS)
    by_key = f"""regexp_replace({v}, '"({keys})"(\\s*):(\\s*)"(?:[^"\\\\]|\\\\.)*"', '"\\1"\\2:\\3"[REDACTED]"', 'g')"""
    return f"regexp_replace({by_key}, {_q(EMAIL)}, '[REDACTED]', 'g')"


def parse_sql(source: str, key: bytes) -> str:
    """SELECT of parsed, typed, redacted rows with quarantine_reason (as parse_opportunities)."""
    from lakehouse.partner_central.transforms import payloads as pcj

    structure = json.dumps(_json_structure(pcj.OPPORTUNITY))
    j = "j"
    lm = _ts(f"{j}.LastModifiedDate")
    spend_bad = f"coalesce(list_bool_or(list_transform({j}.Project.ExpectedCustomerSpend, lambda x: NOT {_amount_ok('x.Amount')})), false)"
    sw_amount = f"{j}.SoftwareRevenue.Value.Amount"
    reasons = [
        ("NOT is_object", "payload is not a JSON object"),
        (f"is_object AND {_blank(j + '.Id')}", "missing Id"),
        (f"is_object AND ({lm}) IS NULL", "missing or unparseable LastModifiedDate"),
        (f"({spend_bad} OR NOT {_amount_ok(sw_amount)})", "Amount is not a decimal number"),
        (
            f"(NOT {_blank(j + '.CreatedDate')} AND ({_ts(j + '.CreatedDate')}) IS NULL)",
            "unparseable CreatedDate",
        ),
        (
            f"(NOT {_blank(j + '.LifeCycle.TargetCloseDate')} AND ({_day(j + '.LifeCycle.TargetCloseDate')}) IS NULL)",
            "unparseable LifeCycle.TargetCloseDate",
        ),
    ]
    reason = (
        "concat_ws('; ', "
        + ", ".join(f"CASE WHEN coalesce({c}, false) THEN {_q(t)} END" for c, t in reasons)
        + ")"
    )
    acc, addr, proj = f"{j}.Customer.Account", f"{j}.Customer.Account.Address", f"{j}.Project"
    life, mkt, sw, rel = (
        f"{j}.LifeCycle",
        f"{j}.Marketing",
        f"{j}.SoftwareRevenue",
        f"{j}.RelatedEntityIdentifiers",
    )
    cols = [
        ("tenant_id", "tenant_id"),
        ("opportunity_id", f"CASE WHEN NOT {_blank(j + '.Id')} THEN trim({j}.Id) END"),
        ("catalog", f"coalesce({j}.Catalog, bronze_catalog)"),
        ("arn", f"{j}.Arn"),
        ("partner_opportunity_identifier", f"{j}.PartnerOpportunityIdentifier"),
        ("opportunity_type", f"{j}.OpportunityType"),
        ("national_security", f"{j}.NationalSecurity"),
        ("primary_needs_from_aws", f"{j}.PrimaryNeedsFromAws"),
        ("created_at", _ts(f"{j}.CreatedDate")),
        ("last_modified_at", lm),
        ("customer_company_name", f"{acc}.CompanyName"),
        ("customer_industry", f"{acc}.Industry"),
        ("customer_other_industry", f"{acc}.OtherIndustry"),
        ("customer_website_url", f"{acc}.WebsiteUrl"),
        ("customer_aws_account_id", f"{acc}.AwsAccountId"),
        ("customer_duns", f"{acc}.Duns"),
        ("customer_country_code", f"{addr}.CountryCode"),
        ("customer_state_or_region", f"{addr}.StateOrRegion"),
        ("customer_city", f"{addr}.City"),
        ("customer_postal_code", f"{addr}.PostalCode"),
        ("customer_street_address", f"{addr}.StreetAddress"),
        ("project_title", f"{proj}.Title"),
        ("project_customer_business_problem", f"{proj}.CustomerBusinessProblem"),
        ("project_customer_use_case", f"{proj}.CustomerUseCase"),
        ("project_delivery_models", f"{proj}.DeliveryModels"),
        ("project_sales_activities", f"{proj}.SalesActivities"),
        ("project_apn_programs", f"{proj}.ApnPrograms"),
        ("project_competitor_name", f"{proj}.CompetitorName"),
        ("project_other_competitor_names", f"{proj}.OtherCompetitorNames"),
        ("project_other_solution_description", f"{proj}.OtherSolutionDescription"),
        ("project_additional_comments", f"{proj}.AdditionalComments"),
        ("project_related_opportunity_id", f"{proj}.RelatedOpportunityIdentifier"),
        ("project_aws_partition", f"{proj}.AwsPartition"),
        ("expected_contract_duration_term", f"{proj}.ExpectedContractDuration.Term"),
        ("expected_contract_duration_value", f"{proj}.ExpectedContractDuration.Value"),
        ("marketing_campaign_name", f"{mkt}.CampaignName"),
        ("marketing_source", f"{mkt}.Source"),
        ("marketing_use_cases", f"{mkt}.UseCases"),
        ("marketing_channels", f"{mkt}.Channels"),
        ("marketing_aws_funding_used", f"{mkt}.AwsFundingUsed"),
        ("stage", f"{life}.Stage"),
        ("closed_lost_reason", f"{life}.ClosedLostReason"),
        ("next_steps", f"{life}.NextSteps"),
        (
            "next_steps_history",
            (
                f"list_transform({life}.NextStepsHistory, lambda h: struct_pack(value := h.Value, "
                f"at := {_ts('h.Time')}))"
            ),
        ),
        ("review_status", f"{life}.ReviewStatus"),
        ("review_comments", f"{life}.ReviewComments"),
        ("review_status_reason", f"{life}.ReviewStatusReason"),
        ("target_close_date", _day(f"{life}.TargetCloseDate")),
        ("software_revenue_delivery_model", f"{sw}.DeliveryModel"),
        ("software_revenue_amount", _amount(sw_amount)),
        ("software_revenue_currency_code", f"{sw}.Value.CurrencyCode"),
        ("software_revenue_effective_date", _day(f"{sw}.EffectiveDate")),
        ("software_revenue_expiration_date", _day(f"{sw}.ExpirationDate")),
        ("related_solution_ids", f"{rel}.Solutions"),
        ("related_aws_product_ids", f"{rel}.AwsProducts"),
        ("related_aws_marketplace_offer_ids", f"{rel}.AwsMarketplaceOffers"),
        ("related_aws_marketplace_offer_set_ids", f"{rel}.AwsMarketplaceOfferSets"),
        ("related_aws_marketplace_solution_ids", f"{rel}.AwsMarketplaceSolutions"),
        ("related_aws_marketplace_product_arns", f"{rel}.AwsMarketplaceProducts"),
        ("customer_contact_count", f"coalesce(len({j}.Customer.Contacts), 0)::INTEGER"),
        ("opportunity_team_count", f"coalesce(len({j}.OpportunityTeam), 0)::INTEGER"),
        ("expected_customer_spend_count", f"coalesce(len({proj}.ExpectedCustomerSpend), 0)::INTEGER"),
        ("source_ingestion_run_id", "ingestion_run_id"),
        ("source_ingested_at", "ingested_at"),
        ("source_payload_sha256", "payload_sha256"),
        (
            "spend",
            (
                f"list_transform({proj}.ExpectedCustomerSpend, lambda x: struct_pack(amount := {_amount('x.Amount')}, "
                "currency_code := x.CurrencyCode, frequency := x.Frequency, target_company := x.TargetCompany, "
                "estimation_url := x.EstimationUrl))"
            ),
        ),
        ("customer_contacts", f"list_transform({j}.Customer.Contacts, lambda c: {_contact_sql('c', key)})"),
        ("team_contacts", f"list_transform({j}.OpportunityTeam, lambda c: {_contact_sql('c', key)})"),
        ("quarantine_reason", reason),
        ("payload_redacted", f"CASE WHEN {reason} <> '' THEN {_redact('payload')} END"),
    ]
    select = ",\n  ".join(f"{expr} AS {name}" for name, expr in cols)
    return f"""
WITH raw AS (
  SELECT tenant_id, catalog AS bronze_catalog, payload, payload_sha256, ingestion_run_id, ingested_at,
         coalesce(json_type(CASE WHEN json_valid(payload) THEN payload ELSE 'null' END) = 'OBJECT', false)
           AS is_object
  FROM {source}
), typed AS (
  SELECT *, CASE WHEN is_object THEN json_transform(CASE WHEN is_object THEN payload ELSE '{{}}' END,
                                                     {_q(structure)}) END AS j FROM raw
)
SELECT {select}
FROM typed"""


def _cluster(stage: str = "stage", lm: str = "last_modified_at") -> str:
    return (
        f"CASE WHEN coalesce({stage} IN ('Launched', 'Closed Lost'), false) THEN 'closed-' ELSE 'open-' END "
        f"|| coalesce(strftime({lm}, '%Y-%m'), 'unknown')"
    )


def silver_columns(table: str) -> list[str]:
    from lakehouse import catalog

    return catalog.get(table).schema.fieldNames()


class Gate:
    """A YAML suite evaluated in SQL with the gate's semantics (quarantine splits rows, fail raises)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, table: str) -> None:
        from lakehouse.quality.suites import load_suite

        self.con, self.suite = con, load_suite(table)
        self.issues: list[tuple[str, str, int]] = []

    def _bad(self, spec: Any) -> str | None:
        """Row-level violation predicate (None for table-level expectations)."""
        kw, t = spec.kwargs, spec.type
        c = kw.get("column")
        if t == "expect_column_values_to_not_be_null":
            return f"{c} IS NULL"
        if t == "expect_column_values_to_be_in_set":
            return f"{c} IS NOT NULL AND {c} NOT IN ({', '.join(_q(str(v)) for v in kw['value_set'])})"
        if t == "expect_column_values_to_match_regex":
            return f"{c} IS NOT NULL AND NOT regexp_matches({c}, {_q(kw['regex'])})"
        if t == "expect_column_values_to_be_between":
            parts = []
            if kw.get("min_value") is not None:
                parts.append(f"{c} {'<=' if kw.get('strict_min') else '<'} {kw['min_value']}")
            if kw.get("max_value") is not None:
                parts.append(f"{c} {'>=' if kw.get('strict_max') else '>'} {kw['max_value']}")
            return f"{c} IS NOT NULL AND ({' OR '.join(parts)})"
        if t == "expect_column_pair_values_a_to_be_greater_than_b":
            op = "<" if kw.get("or_equal") else "<="
            return f"{kw['column_A']} {op} {kw['column_B']}"
        return None

    def _count(self, spec: Any, relation: str) -> int:
        if spec.type == "expect_column_values_to_be_unique":
            c = spec.kwargs["column"]
            sql = (
                f"SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {relation} WHERE {c} IS NOT NULL "
                f"GROUP BY {c} HAVING count(*) > 1)"
            )
        elif spec.type == "expect_table_row_count_to_be_between":
            n = self.con.sql(f"SELECT count(*) FROM {relation}").fetchall()[0][0]
            lo, hi = spec.kwargs.get("min_value"), spec.kwargs.get("max_value")
            return int((lo is not None and n < lo) or (hi is not None and n > hi))
        else:
            sql = f"SELECT count(*) FROM {relation} WHERE {self._bad(spec)}"
        return int(self.con.sql(sql).fetchall()[0][0])

    def run(self, relation: str) -> tuple[str, str | None]:
        """(relation of passed rows, relation of quarantined rows with gate_reason or None); raises on fail."""
        quarantined = None
        bad = [(s, self._bad(s)) for s in self.suite.by_action("quarantine")]
        hit = [(s, p) for s, p in bad if self._count(s, relation)]
        for s, _ in hit:
            self.issues.append((s.name, s.action, self._count(s, relation)))
        if hit:
            any_bad = " OR ".join(f"coalesce({p}, false)" for _, p in hit)
            reason = (
                "concat_ws('; ', "
                + ", ".join(
                    f"CASE WHEN coalesce({p}, false) THEN {_q('quality: ' + s.name)} END" for s, p in hit
                )
                + ")"
            )
            name = relation.strip("()").replace(" ", "_")[-20:]
            self.con.sql(
                f"CREATE OR REPLACE TEMP VIEW q_{name} AS SELECT *, {reason} AS gate_reason FROM {relation} "
                f"WHERE {any_bad}"
            )
            self.con.sql(
                f"CREATE OR REPLACE TEMP VIEW p_{name} AS SELECT * FROM {relation} WHERE NOT ({any_bad})"
            )
            relation, quarantined = f"p_{name}", f"q_{name}"
        failed = []
        for s in self.suite.by_action("warn", "fail"):
            n = self._count(s, relation)
            if n:
                self.issues.append((s.name, s.action, n))
                if s.action == "fail":
                    failed.append(f"{s.name}: {n}")
        if failed:
            raise SystemExit(f"duckdb: {self.suite.table} gate failed: {failed}")
        return relation, quarantined


class DuckPipeline:
    """Silver and gold for one tenant in DuckDB over Parquet files under ``out``."""

    def __init__(self, work: Path) -> None:
        from lakehouse.privacy import LocalKeyProvider

        self.out = work / "duckdb"
        shutil.rmtree(self.out, ignore_errors=True)
        self.out.mkdir(parents=True)
        self.con = duckdb.connect(str(self.out / "scratch.duckdb"))
        self.con.sql("SET TimeZone = 'UTC'")
        self.con.sql(f"SET temp_directory = '{self.out / 'tmp'}'")
        self.key = LocalKeyProvider(pb.PII_SECRET.encode()).key_for(gen.TENANT)
        self.snapshot = 0
        self.issues: list[tuple[str, str, str, int]] = []

    def path(self, name: str, snapshot: int | None = None) -> str:
        return str(self.out / f"{name}.v{self.snapshot if snapshot is None else snapshot}.parquet")

    def copy(self, sql: str, name: str) -> None:
        self.con.sql(f"COPY ({sql}) TO '{self.path(name)}' (FORMAT parquet, COMPRESSION snappy)")

    def gate(self, table: str, relation: str) -> tuple[str, str | None]:
        g = Gate(self.con, table)
        out = g.run(relation)
        self.issues += [(table, *i) for i in g.issues]
        return out

    def silver(self, stages: pb.Stages, source: str) -> None:
        """Parse ``source`` bronze rows and write silver snapshot ``self.snapshot`` (previous one merged in)."""
        con, prev = self.con, self.snapshot - 1
        with stages.time("silver: parse + redact + latest version (staged)"):
            self.copy(parse_sql(source, self.key), "parsed")
            con.sql(f"CREATE OR REPLACE TEMP VIEW parsed AS SELECT * FROM '{self.path('parsed')}'")
            current = (
                (
                    f"SELECT tenant_id, opportunity_id, last_modified_at AS c_lm, source_ingested_at AS c_ing, "
                    f"true AS present FROM '{self.path('opportunity', prev)}'"
                )
                if prev >= 0
                else "SELECT NULL::VARCHAR AS tenant_id, NULL::VARCHAR AS opportunity_id, NULL::TIMESTAMPTZ AS c_lm, "
                "NULL::TIMESTAMPTZ AS c_ing, true AS present WHERE false"
            )
            self.copy(
                f"""
                WITH latest AS (
                  SELECT * FROM parsed WHERE quarantine_reason = ''
                  QUALIFY row_number() OVER (PARTITION BY tenant_id, opportunity_id ORDER BY last_modified_at DESC
                    NULLS LAST, source_ingested_at DESC NULLS LAST, source_payload_sha256 DESC NULLS LAST) = 1
                ), cur AS ({current})
                SELECT latest.* FROM latest LEFT JOIN cur USING (tenant_id, opportunity_id)
                WHERE cur.present IS NULL
                   OR latest.last_modified_at > cur.c_lm
                   OR (latest.last_modified_at = cur.c_lm AND latest.source_ingested_at > cur.c_ing)
            """,
                "changed",
            )
            con.sql(f"CREATE OR REPLACE TEMP VIEW changed AS SELECT * FROM '{self.path('changed')}'")
        with stages.time("silver: quality gates"):
            passed, gate_q = self.gate("silver.opportunity", "changed")
            cols = silver_columns("silver.opportunity")
            con.sql(
                f"CREATE OR REPLACE TEMP VIEW opp AS SELECT *, {_cluster()} AS file_cluster FROM {passed}"
            )
            self.copy(
                """SELECT tenant_id, opportunity_id, (s.i - 1)::INTEGER AS spend_index, s.e.amount AS amount,
                       s.e.currency_code AS currency_code, s.e.frequency AS frequency,
                       s.e.target_company AS target_company, s.e.estimation_url AS estimation_url, last_modified_at,
                       source_ingestion_run_id, file_cluster
                       FROM opp, LATERAL (SELECT unnest(spend) AS e, generate_subscripts(spend, 1) AS i) s""",
                "spend_new",
            )
            self.copy(
                " UNION ALL ".join(
                    f"""SELECT tenant_id, opportunity_id, '{role}' AS contact_role, (s.i - 1)::INTEGER AS contact_index,
                    s.c.email_hash AS email_hash, s.c.phone_masked AS phone_masked,
                    s.c.business_title AS business_title, last_modified_at, source_ingestion_run_id, file_cluster
                    FROM opp, LATERAL (SELECT unnest({col}) AS c, generate_subscripts({col}, 1) AS i) s"""
                    for role, col in (
                        ("customer", "customer_contacts"),
                        ("opportunity_team", "team_contacts"),
                    )
                ),
                "contact_new",
            )
            self.gate("silver.opportunity_spend", f"'{self.path('spend_new')}'")
            self.gate("silver.opportunity_contact", f"'{self.path('contact_new')}'")
        with stages.time("silver: write (new Parquet snapshot)"):
            keep = (
                (
                    lambda name: (
                        f"SELECT p.* FROM '{self.path(name, prev)}' p ANTI JOIN opp USING (tenant_id, "
                        f"opportunity_id) UNION ALL "
                    )
                )
                if prev >= 0
                else (lambda name: "")
            )
            self.copy(keep("opportunity") + f"SELECT {', '.join(cols)} FROM opp", "opportunity")
            self.copy(keep("spend") + f"SELECT * FROM '{self.path('spend_new')}'", "spend")
            self.copy(keep("contact") + f"SELECT * FROM '{self.path('contact_new')}'", "contact")
            quarantine = """SELECT tenant_id, opportunity_id, 'opportunity' AS entity, opportunity_id AS entity_id,
                quarantine_reason AS reason, payload_redacted AS payload, source_payload_sha256 AS payload_sha256,
                source_ingestion_run_id AS ingestion_run_id, source_ingested_at AS ingested_at,
                'bench' AS quarantine_run_id FROM parsed WHERE quarantine_reason <> ''"""
            if gate_q:
                quarantine += f""" UNION ALL SELECT g.tenant_id, g.opportunity_id, 'opportunity', g.opportunity_id,
                    g.gate_reason, {_redact("b.payload")}, g.source_payload_sha256, g.source_ingestion_run_id,
                    g.source_ingested_at, 'bench' FROM {gate_q} g JOIN {source} b
                    ON b.payload_sha256 = g.source_payload_sha256 AND b.ingestion_run_id = g.source_ingestion_run_id"""
            old_q = f"SELECT * FROM '{self.path('quarantine', prev)}' UNION ALL " if prev >= 0 else ""
            self.copy(
                f"""SELECT * FROM ({old_q}{quarantine}) QUALIFY row_number() OVER (PARTITION BY tenant_id,
                entity, payload_sha256 ORDER BY ingested_at DESC NULLS LAST, ingestion_run_id DESC NULLS LAST) = 1""",
                "quarantine",
            )

    def gold(self, stages: pb.Stages) -> None:
        con = self.con
        opp, spend = f"'{self.path('opportunity')}'", f"'{self.path('spend')}'"
        with stages.time("gold: extract + marts + gates"):
            con.sql(f"""CREATE OR REPLACE TEMP TABLE ace_pipeline AS
                WITH usd AS (SELECT tenant_id, opportunity_id, sum(amount) AS usd FROM {spend}
                             WHERE currency_code = 'USD' AND frequency = 'Monthly' GROUP BY ALL)
                SELECT o.tenant_id, o.stage, strftime(o.target_close_date, '%Y-%m') AS target_close_month,
                       count(*)::BIGINT AS opportunity_count, coalesce(sum(usd.usd), 0)::DECIMAL(18,2)
                       AS expected_monthly_spend_usd
                FROM {opp} o LEFT JOIN usd USING (tenant_id, opportunity_id) GROUP BY ALL""")
            con.sql(f"""CREATE OR REPLACE TEMP TABLE ace_win_rate AS
                SELECT tenant_id, count(*) FILTER (WHERE stage = 'Launched')::BIGINT AS won_count,
                       count(*) FILTER (WHERE stage = 'Closed Lost')::BIGINT AS lost_count,
                       count(*) FILTER (WHERE stage IS NULL OR stage NOT IN ('Launched', 'Closed Lost'))::BIGINT
                       AS open_count
                FROM {opp} GROUP BY tenant_id""")
            con.sql("""CREATE OR REPLACE TEMP TABLE ace_win_rate AS SELECT *, CASE WHEN won_count + lost_count > 0
                       THEN won_count::DOUBLE / (won_count + lost_count)::DOUBLE END AS win_rate FROM ace_win_rate""")
            as_of = gen.AS_OF.isoformat()
            con.sql(f"""CREATE OR REPLACE TEMP TABLE ace_pipeline_health AS
                SELECT tenant_id, review_status, count(*)::BIGINT AS opportunity_count,
                       count(*) FILTER (WHERE target_close_date < DATE '{as_of}' AND (stage IS NULL OR stage NOT IN
                       ('Launched', 'Closed Lost')))::BIGINT AS stale_count,
                       count(*) FILTER (WHERE review_status = 'Action Required')::BIGINT AS action_required_count,
                       DATE '{as_of}' AS as_of_date
                FROM {opp} GROUP BY ALL""")
            for mart in ("ace_pipeline", "ace_win_rate", "ace_pipeline_health"):
                self.gate(f"gold.{mart}", mart)
        with stages.time("gold: write"):
            for mart in ("ace_pipeline", "ace_win_rate", "ace_pipeline_health"):
                self.copy(f"SELECT * FROM {mart}", f"gold_{mart}")

    def summary(self) -> dict[str, Any]:
        def rows(mart: str) -> list[dict[str, Any]]:
            rel = self.con.sql(f"SELECT * FROM '{self.path('gold_' + mart)}'")
            return [dict(zip(rel.columns, r, strict=False)) for r in rel.fetchall()]

        return pb.gold_summary(rows("ace_pipeline"), rows("ace_win_rate"), rows("ace_pipeline_health"))


def duckdb_worker(work: Path) -> None:
    """Full build from the generated bronze, then the 1% change; DuckDB with its default threads (2 cores)."""
    import lakehouse.partner_central.transforms.payloads
    import lakehouse.quality.suites  # noqa: F401

    p = DuckPipeline(work)
    result: dict[str, Any] = {
        "engine": "duckdb",
        "version": duckdb.__version__,
        "threads": p.con.sql("SELECT current_setting('threads')").fetchall()[0][0],
    }
    bronze = f"read_parquet('{work / pb.BRONZE_SRC}/*/*.parquet', hive_partitioning = true)"
    stages = pb.Stages()
    with stages.time("silver: extract (bronze rows)"):
        p.con.sql(
            f"CREATE OR REPLACE TEMP VIEW bronze AS SELECT * FROM {bronze} WHERE tenant_id = '{gen.TENANT}'"
        )
    p.silver(stages, "bronze")
    p.gold(stages)
    result["full"] = {"stages": stages.items, "seconds": stages.total()}
    p.snapshot = 1
    stages = pb.Stages()
    with stages.time("silver: extract (bronze rows)"):
        p.con.sql(
            f"CREATE OR REPLACE TEMP VIEW bronze_new AS SELECT * FROM '{work / 'change.parquet'}' "
            f"WHERE tenant_id = '{gen.TENANT}'"
        )
    p.silver(stages, "bronze_new")
    p.gold(stages)
    result["incremental"] = {"stages": stages.items, "seconds": stages.total()}
    result["gold"] = p.summary()
    result["issues"] = p.issues
    pb.emit(result)


if __name__ == "__main__":  # pragma: no cover - run through pipeline_bench.py --worker duckdb
    import sys

    duckdb_worker(Path(sys.argv[1]))
