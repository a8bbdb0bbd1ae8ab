"""simple-salesforce's Metadata API client, used as its users use it, against the simulator.

Run by salesforce-sim/tests/api/clients.rs with the venv of hack/client-env.sh:
  SIM_INSTANCE=127.0.0.1:PORT SIM_TOKEN=... REQUESTS_CA_BUNDLE=ca.pem python simple_salesforce_md.py NAME
Nothing here adapts the client to the simulator: the session comes from `Salesforce(instance=,
session_id=)` and every call is the library's own (`sf.mdapi.<Type>.create/read/update/delete`,
`sf.mdapi.list_metadata`). Prints one JSON object of what the org answered; any exception fails.
"""

import json
import os
import sys

from simple_salesforce import Salesforce

name = sys.argv[1]
sf = Salesforce(
    instance=os.environ["SIM_INSTANCE"],
    session_id=os.environ["SIM_TOKEN"],
    version=os.environ.get("SIM_API_VERSION", "63.0"),
)
md = sf.mdapi
out = {"metadata_url": sf.metadata_url}


def saml_config(acs):
    return md.ConnectedAppSamlConfig(
        acsUrl=acs,
        entityUrl="https://sp.example.com/" + name,
        samlNameIdFormat="Persistent",
        samlSubjectType="FederationId",
    )


md.ConnectedApp.create(
    md.ConnectedApp(
        fullName=name,
        label=name + " label",
        contactEmail="ops@acme.com",
        profileName=["Contact Center Agent"],
        samlConfig=saml_config("https://sp.example.com/acs"),
    )
)
app = md.ConnectedApp.read(name)
out["read_after_create"] = {
    "fullName": app.fullName,
    "acsUrl": app.samlConfig.acsUrl,
    "profileName": list(app.profileName or []),
}

app.samlConfig.acsUrl = "https://sp.example.com/acs2"
app.label = name + " renamed"
md.ConnectedApp.update(app)
app = md.ConnectedApp.read(name)
out["read_after_update"] = {"label": app.label, "acsUrl": app.samlConfig.acsUrl}

query = md.ListMetadataQuery(type="ConnectedApp")
out["listed"] = sorted(p.fullName for p in md.list_metadata([query]))

idp = md.IdentityProviderSettings.read("IdentityProvider")
out["identity_provider"] = {
    "enableIdentityProvider": idp.enableIdentityProvider,
    "certificateName": idp.certificateName,
}

md.ConnectedApp.delete(name)
gone = md.ConnectedApp.read(name)
out["read_after_delete"] = None if gone is None or gone.fullName is None else gone.fullName
out["listed_after_delete"] = sorted(p.fullName for p in md.list_metadata([query]))

print(json.dumps(out))
