// jsforce's `metadata` API, used as its users use it, against the simulator.
//
// Run by salesforce-sim/tests/api/clients.rs with the node_modules of hack/client-env.sh:
//   NODE_PATH=... NODE_EXTRA_CA_CERTS=ca.pem SIM_URL=https://127.0.0.1:PORT SIM_TOKEN=... node jsforce_md.js NAME
// Nothing here adapts the client to the simulator: a `Connection` from instanceUrl and
// accessToken, and the library's own `conn.metadata.create/read/update/delete/list` calls. Prints
// one JSON object of what the org answered; a rejected promise or an unsuccessful result fails.
const jsforce = require("jsforce");

const name = process.argv[2];
const conn = new jsforce.Connection({
  instanceUrl: process.env.SIM_URL,
  accessToken: process.env.SIM_TOKEN,
  version: process.env.SIM_API_VERSION || "63.0",
});

function ok(result, what) {
  for (const r of Array.isArray(result) ? result : [result]) {
    if (!r.success) {
      throw new Error(`${what} failed: ${JSON.stringify(r)}`);
    }
  }
}

async function main() {
  const out = {};
  const app = {
    fullName: name,
    label: `${name} label`,
    contactEmail: "ops@acme.com",
    profileName: ["Contact Center Agent"],
    samlConfig: {
      acsUrl: "https://sp.example.com/acs",
      entityUrl: `https://sp.example.com/${name}`,
      samlNameIdFormat: "Persistent",
      samlSubjectType: "FederationId",
    },
  };
  ok(await conn.metadata.create("ConnectedApp", app), "create");
  let read = await conn.metadata.read("ConnectedApp", name);
  out.read_after_create = {
    fullName: read.fullName,
    acsUrl: read.samlConfig.acsUrl,
    profileName: [].concat(read.profileName || []),
  };
  read.samlConfig.acsUrl = "https://sp.example.com/acs2";
  read.label = `${name} renamed`;
  ok(await conn.metadata.update("ConnectedApp", read), "update");
  read = await conn.metadata.read("ConnectedApp", name);
  out.read_after_update = { label: read.label, acsUrl: read.samlConfig.acsUrl };
  const listed = await conn.metadata.list([{ type: "ConnectedApp" }]);
  out.listed = [].concat(listed || []).map((p) => p.fullName).sort();
  const idp = await conn.metadata.read("IdentityProviderSettings", "IdentityProvider");
  out.identity_provider = {
    enableIdentityProvider: idp.enableIdentityProvider,
    certificateName: idp.certificateName,
  };
  ok(await conn.metadata.delete("ConnectedApp", name), "delete");
  const gone = await conn.metadata.read("ConnectedApp", name);
  out.read_after_delete = gone && gone.fullName ? gone.fullName : null;
  const after = await conn.metadata.list([{ type: "ConnectedApp" }]);
  out.listed_after_delete = [].concat(after || []).map((p) => p.fullName).sort();
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
