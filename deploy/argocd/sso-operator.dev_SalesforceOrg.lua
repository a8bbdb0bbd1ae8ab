-- Argo CD health check for sso-operator.dev/SalesforceOrg (docs/argocd-health.md).
-- Reads what the operator writes the way Flux's kstatus does, so both tools agree: first
-- observedGeneration, then Stalled (Degraded), Reconciling (Progressing), Ready (Healthy).
-- A SalesforceOrg has no spec.suspend.
local hs = {}
local function describe(c)
  return (c.reason or "") .. ": " .. (c.message or "")
end
if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end
local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end
local ready, reconciling, stalled
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Ready" then ready = c
  elseif c.type == "Reconciling" then reconciling = c
  elseif c.type == "Stalled" then stalled = c end
end
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(ready ~= nil and ready or stalled)
  return hs
end
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = describe(ready ~= nil and ready or reconciling)
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end
-- Ready is not True and the operator says neither Stalled nor Reconciling: an operator older than
-- these conditions, or a status edited by hand. Not a verdict to act on.
hs.status = "Progressing"
hs.message = ready ~= nil and describe(ready) or "Waiting for the Ready condition"
return hs
