# The platform policy for an OPA sidecar. Rules only: every fact (roles, actions, clearances, environments)
# comes from the data document served at GET /authz/policy, mounted as data.lakehouse.authz.
# Query: POST /v1/data/lakehouse/authz/decision {"input": {subject, action, resource, context}}
# Answer: {"result": {"allow": bool, "reasons": [...]}} — the same allow/deny as POST /authz/decide (deny
# reasons are sorted here; allow reasons are shortened).
# Mirrors control_plane/authz/data.lakehouse.authz.py:decide (which the API uses); keep the two in step.
# Written for OPA 1.x (rego.v1). The test suite evaluates it with regopy (an embedded Rego interpreter) and
# checks it reaches the same allow/deny as policy.py on every case of the authorization test matrix.
# Facts are read from data.lakehouse.authz.<key>: a rule that took data.lakehouse.authz whole would include
# this package's own rules and recurse.
package lakehouse.authz

import rego.v1

role_def := data.lakehouse.authz.roles[input.subject.role]

domain := split(input.action, ":")[0]

action_granted if {
	some p in role_def.actions
	p in {"*", input.action, concat(":", [domain, "*"])}
}

covers if contains(input.resource.tenant_path, concat("", ["/", input.subject.tenant_id, "/"]))

is_global if {
	input.resource.type in data.lakehouse.authz.global_resource_types
	not input.resource.tenant_id
}

own_tenant if endswith(trim_right(input.resource.tenant_path, "/"), concat("", ["/", input.subject.tenant_id]))

has_reason if trim_space(input.context.reason) != ""

environment := input.resource.environment if input.resource.environment
environment := input.context.environment if {
	not input.resource.environment
	input.context.environment
}

environment := "development" if {
	not input.resource.environment
	not input.context.environment
}

env_rules := object.get(data.lakehouse.authz.environments, environment, {})

level(c) := i if {
	some i, x in data.lakehouse.authz.classifications
	x == c
}

deny contains msg if {
	not role_def
	msg := sprintf("unknown role %v", [input.subject.role])
}

deny contains msg if {
	role_def
	not action_granted
	msg := sprintf("role %v may not %v", [input.subject.role, input.action])
}

deny contains msg if {
	role_def
	not role_def.cross_tenant
	not is_global
	not covers
	msg := sprintf("tenant %v is outside the subject's tenant %v", [input.resource.tenant_id, input.subject.tenant_id])
}

deny contains msg if {
	role_def
	not role_def.cross_tenant
	not is_global
	covers
	input.action in data.lakehouse.authz.strict_ancestor_actions
	own_tenant
	msg := sprintf("%v needs an ancestor tenant's admin, not the tenant's own", [input.action])
}

# Platform-only actions: no tenant-scoped role may perform them (plan changes of any tenant).
deny contains msg if {
	role_def
	not role_def.cross_tenant
	input.action in data.lakehouse.authz.platform_only_actions
	msg := sprintf("%v is reserved to the platform; role %v is tenant-scoped", [input.action, input.subject.role])
}

# Separation of duties: an approval is decided by someone other than its requester, through a credential the
# requester did not mint (a key's minter has seen its secret), for the whole lifetime of the approval.
sod_applies if {
	input.action in data.lakehouse.authz.separation_of_duties_actions
	input.resource.type == "approval"
}

has_requester if {
	is_string(input.resource.requested_by)
	input.resource.requested_by != ""
}

deny contains msg if {
	sod_applies
	not has_requester
	msg := sprintf("%v needs the approval's requester (resource.requested_by)", [input.action])
}

deny contains msg if {
	sod_applies
	has_requester
	input.subject.id == input.resource.requested_by
	msg := sprintf("%v requested approval %v and cannot decide it", [input.resource.requested_by, input.resource.id])
}

deny contains msg if {
	sod_applies
	has_requester
	input.resource.credential_minted_by == input.resource.requested_by
	msg := sprintf("the credential of %v was minted by the requester %v", [input.subject.id, input.resource.requested_by])
}

deny contains msg if {
	wanted := input.resource.role
	not data.lakehouse.authz.roles[wanted]
	msg := sprintf("unknown role %v requested", [wanted])
}

deny contains msg if {
	role_def
	wanted := input.resource.role
	data.lakehouse.authz.roles[wanted]
	not wanted in role_def.grantable_roles
	msg := sprintf("role %v may not grant role %v", [input.subject.role, wanted])
}

deny contains msg if {
	c := input.resource.classification
	not level(c)
	msg := sprintf("unknown classification %v", [c])
}

deny contains msg if {
	role_def
	c := input.resource.classification
	level(c) > level(role_def.clearance)
	msg := sprintf("role %v is cleared up to %v, not %v", [input.subject.role, role_def.clearance, c])
}

deny contains msg if {
	input.action in object.get(object.get(env_rules, "denied_actions", {}), input.subject.role, [])
	msg := sprintf("%v is not allowed for %v in %v", [input.action, input.subject.role, environment])
}

deny contains msg if {
	input.action in data.lakehouse.authz.reason_required_actions
	not has_reason
	msg := sprintf("%v requires a reason", [input.action])
}

deny contains msg if {
	input.resource.classification in object.get(env_rules, "reason_required_classifications", [])
	not has_reason
	msg := sprintf("%v data in %v requires a reason", [input.resource.classification, environment])
}

decision := {"allow": count(deny) == 0, "reasons": sort([m | some m in deny])} if count(deny) > 0

decision := {"allow": true, "reasons": [sprintf("role %v grants %v", [input.subject.role, input.action])]} if count(deny) == 0
