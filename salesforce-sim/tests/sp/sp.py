#!/usr/bin/env python3
"""A SAML service provider for tests: pysaml2 (PyPI, not part of this project), configured only
from an IdP metadata file (the simulator's /.well-known/samlidp/<app>.xml, or the metadata.xml of
the ConfigMap sso-operator publishes) and the SP's own entity id, ACS URL and keys.

Run it with the venv hack/sp-venv.sh builds. Protocol: JSON Lines. Each line on stdin is one
request object, each line on stdout the answer to it; the process serves requests until stdin
closes, so a test can keep one process (pysaml2's import costs ~0.5 s). Logs go to stderr.

Every request carries:
  "idpMetadata": path of the IdP metadata XML (the only IdP configuration the SP gets)
  "sp": {"entityId": ..., "acsUrl": ...,
         "signingKey"/"signingCert": PEM paths, optional: sign AuthnRequests,
         "signatureAlgorithm": "rsa-sha256" (default) | "rsa-sha1",
         "encryptionKey"/"encryptionCert": PEM paths, optional: decrypt assertions}

"op": "request" -- start an SP-initiated sign-in:
  in:  "binding": "redirect" | "post", "relayState": optional
  out: {"ok": true, "requestId", "method": "GET"|"POST", "url",
        "form": {"SAMLRequest", "RelayState"?} (POST only)}
  The URL is the SingleSignOnService Location of the metadata (the org's My Domain).

"op": "response" -- accept or refuse what the IdP posted to the ACS URL:
  in:  "samlResponse": the SAMLResponse form value (base64), "relayState": optional,
       "inResponseTo": the requestId of "request", or null for IdP-initiated (unsolicited)
  out: {"ok": true, "nameId", "nameIdFormat", "issuer", "audience", "inResponseTo",
        "sessionNotOnOrAfter", "attributes": {name: [values]}, "relayState"}
   or  {"ok": false, "reason": one of "signature" | "audience" | "expired" | "notYetValid" |
        "unsolicited" | "inResponseTo" | "recipient" | "destination" | "decryption" | "status" |
        "other",
        "error": "<exception class>: <message>"}

"op": "signin" -- the whole sign-in, the helper acting as the browser too (what an end-to-end
  test needs: one call per sign-in):
  in:  "flow": "redirect" | "post" | "idp", "relayState": optional,
       "idpBaseUrl": where the IdP really answers (e.g. https://localhost:PORT): the scheme and
                     host of the metadata's SSO Locations (the org's My Domain) are replaced by it,
       "caFile": optional PEM of the CA to trust for it (default: the system's),
       "app": for "idp": the app= of /idp/login (the 0sp id, or the API name on the simulator),
       "username": optional, signs that user in first (POST /__sim/saml/session: simulator only)
  out: the "response" verdict, plus "relayState" (as posted), "samlResponse" (base64, for
       other checks such as xmlsec1), "requestId" (SP-initiated); or, when the IdP answers with
       something else than the auto-post form to the SP's ACS URL:
       {"ok": false, "reason": "noResponse" | "wrongAcs", "status": HTTP status, "page": text}

Any malformed request gives {"ok": false, "reason": "badRequest", "error": ...}.
What the SP insists on: response and assertion both signed, keys only from the metadata, the
audience its entity id, the time window with no slack, Recipient/Destination its ACS URL.
"""

import base64
import html.parser
import json
import logging
import os
import shutil
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.response import IncorrectlySigned, StatusError, UnsolicitedResponse
from saml2.sigver import DecryptError, MissingKey, SignatureError, SigverError
from saml2.validate import ResponseLifetimeExceed, ToEarly

SIG_ALGS = {
    "rsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "rsa-sha1": "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
}
DIGEST_ALGS = {
    "rsa-sha256": "http://www.w3.org/2001/04/xmlenc#sha256",
    "rsa-sha1": "http://www.w3.org/2000/09/xmldsig#sha1",
}


CLIENTS = {}


def client(req, unsolicited):
    """A pysaml2 client for the request's SP, trusting only the IdP metadata file (kept for
    the next request with the same SP settings and the same, unchanged, metadata file)."""
    path = req["idpMetadata"]
    stat = os.stat(path)
    key = json.dumps([path, stat.st_mtime_ns, stat.st_size, req["sp"], unsolicited], sort_keys=True)
    if key not in CLIENTS:
        if len(CLIENTS) > 64:
            CLIENTS.clear()
        CLIENTS[key] = new_client(req, unsolicited)
    return CLIENTS[key]


def new_client(req, unsolicited):
    sp = req["sp"]
    service = {
        "endpoints": {"assertion_consumer_service": [(sp["acsUrl"], BINDING_HTTP_POST)]},
        "allow_unsolicited": unsolicited,
        "want_response_signed": True,
        "want_assertions_signed": True,
        "authn_requests_signed": bool(sp.get("signingKey")),
    }
    conf = {
        "entityid": sp["entityId"],
        "metadata": {"local": [req["idpMetadata"]]},
        "service": {"sp": service},
        "xmlsec_binary": shutil.which("xmlsec1"),
        "accepted_time_diff": 0,
        "allow_unknown_attributes": True,
        "only_use_keys_in_metadata": True,
    }
    if sp.get("signingKey"):
        conf["key_file"] = sp["signingKey"]
        conf["cert_file"] = sp["signingCert"]
    if sp.get("encryptionKey"):
        conf["encryption_keypairs"] = [
            {"key_file": sp["encryptionKey"], "cert_file": sp["encryptionCert"]}
        ]
    config = SPConfig()
    config.load(conf)
    return Saml2Client(config=config)


def idp_entity_id(cl):
    ids = list(cl.metadata.identity_providers())
    if len(ids) != 1:
        raise ValueError(f"the metadata must describe one IdP, not {len(ids)}")
    return ids[0]


def start(req):
    cl = client(req, unsolicited=False)
    idp = idp_entity_id(cl)
    sp = req["sp"]
    sign = bool(sp.get("signingKey"))
    alg = sp.get("signatureAlgorithm", "rsa-sha256")
    relay = req.get("relayState") or ""
    if req["binding"] == "redirect":
        dest = cl.metadata.single_sign_on_service(idp, BINDING_HTTP_REDIRECT)[0]["location"]
        req_id, authn = cl.create_authn_request(dest, binding=BINDING_HTTP_POST, sign=False)
        info = cl.apply_binding(
            BINDING_HTTP_REDIRECT, str(authn), dest, relay, sign=sign, sigalg=SIG_ALGS[alg]
        )
        url = dict(info["headers"])["Location"]
        return {"ok": True, "requestId": req_id, "method": "GET", "url": url}
    if req["binding"] == "post":
        dest = cl.metadata.single_sign_on_service(idp, BINDING_HTTP_POST)[0]["location"]
        req_id, authn = cl.create_authn_request(
            dest,
            binding=BINDING_HTTP_POST,
            sign=sign,
            sign_alg=SIG_ALGS[alg] if sign else None,
            digest_alg=DIGEST_ALGS[alg] if sign else None,
        )
        form = {"SAMLRequest": base64.b64encode(str(authn).encode()).decode()}
        if relay:
            form["RelayState"] = relay
        return {"ok": True, "requestId": req_id, "method": "POST", "url": dest, "form": form}
    raise ValueError(f"binding {req['binding']!r}: redirect or post")


def reason(exc):
    """The verdict class of a refusal (most specific first)."""
    text = str(exc)
    kinds = [
        (ResponseLifetimeExceed, "expired"),
        (ToEarly, "notYetValid"),
        (DecryptError, "decryption"),
        ((SignatureError, IncorrectlySigned, MissingKey, SigverError), "signature"),
        (UnsolicitedResponse, "unsolicited"),
        (StatusError, "status"),
    ]
    for cls, name in kinds:
        if isinstance(exc, cls):
            return name
    if "AudienceRestrictions" in text:
        return "audience"
    if "recipient" in text.lower():
        return "recipient"
    if "destination" in text.lower():
        return "destination"
    if "signature" in text.lower() or "signed" in text.lower():
        return "signature"
    return "other"


class Errors(logging.Handler):
    """pysaml2's error log lines: why it returned no response without raising."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def accept(req):
    irt = req.get("inResponseTo")
    cl = client(req, unsolicited=irt is None)
    outstanding = {irt: "/"} if irt else {}
    errors = Errors()
    logging.getLogger("saml2").addHandler(errors)
    try:
        resp = cl.parse_authn_request_response(req["samlResponse"], BINDING_HTTP_POST, outstanding)
    except Exception as exc:  # pysaml2 raises many kinds; all are refusals
        return {"ok": False, "reason": reason(exc), "error": f"{type(exc).__name__}: {exc}"}
    finally:
        logging.getLogger("saml2").removeHandler(errors)
    # pysaml2 signals some refusals (Destination, InResponseTo) by logging an error and returning
    # nothing, or a response without a verified assertion.
    if resp is None or getattr(resp, "assertion", None) is None:
        text = "; ".join(errors.lines) or "pysaml2 returned no verified assertion"
        why = "destination" if "destination" in text else "inResponseTo" if "expected" in text else "other"
        return {"ok": False, "reason": why, "error": text}
    name_id = resp.assertion.subject.name_id
    audiences = [
        a.text
        for r in resp.assertion.conditions.audience_restriction
        for a in r.audience
    ]
    return {
        "ok": True,
        "nameId": name_id.text,
        "nameIdFormat": name_id.format,
        "issuer": resp.issuer(),
        "audience": audiences,
        "inResponseTo": resp.in_response_to,
        "sessionNotOnOrAfter": resp.not_on_or_after,
        "attributes": resp.ava,
        "relayState": req.get("relayState"),
    }


class FormParser(html.parser.HTMLParser):
    """The first form of a page: its action and its inputs."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.inputs = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = a.get("action")
        elif tag == "input" and a.get("name"):
            self.inputs[a["name"]] = a.get("value") or ""


def rebase(url, base):
    """`url` with its scheme and host replaced by those of `base`."""
    u, b = urllib.parse.urlsplit(url), urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit((b.scheme, b.netloc, u.path, u.query, u.fragment))


def fetch(url, ctx, form=None, body=None):
    """GET `url`, or POST `form` (urlencoded) or `body` (JSON): (status, text)."""
    request = urllib.request.Request(url)
    if form is not None:
        request.data = urllib.parse.urlencode(form).encode()
    elif body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, context=ctx, timeout=30) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def signin(req):
    base = req["idpBaseUrl"].rstrip("/")
    ctx = ssl.create_default_context(cafile=req.get("caFile")) if base.startswith("https") else None
    if req.get("username"):
        status, text = fetch(base + "/__sim/saml/session", ctx, body={"username": req["username"]})
        if status != 200:
            return {"ok": False, "reason": "badRequest", "error": f"session: {status} {text}"}
    flow = req["flow"]
    request_id = None
    if flow in ("redirect", "post"):
        started = start({**req, "binding": flow})
        request_id = started["requestId"]
        url = rebase(started["url"], base)
        status, page = fetch(url, ctx, started.get("form"))
    elif flow == "idp":
        query = {"app": req["app"]}
        if req.get("relayState"):
            query["RelayState"] = req["relayState"]
        status, page = fetch(base + "/idp/login?" + urllib.parse.urlencode(query), ctx)
    else:
        raise ValueError(f"flow {flow!r}: redirect, post or idp")
    form = FormParser()
    form.feed(page)
    if status != 200 or "SAMLResponse" not in form.inputs:
        return {"ok": False, "reason": "noResponse", "status": status, "page": page[:2000]}
    if form.action != req["sp"]["acsUrl"]:
        return {"ok": False, "reason": "wrongAcs", "status": status, "page": page[:2000]}
    relay = form.inputs.get("RelayState")
    verdict = accept({**req, "samlResponse": form.inputs["SAMLResponse"], "relayState": relay,
                      "inResponseTo": request_id})
    verdict.update({"relayState": relay, "samlResponse": form.inputs["SAMLResponse"],
                    "requestId": request_id})
    return verdict


def serve(line):
    try:
        req = json.loads(line)
        op = req.get("op")
        if op == "request":
            return start(req)
        if op == "response":
            return accept(req)
        if op == "signin":
            return signin(req)
        raise ValueError(f"op {op!r}: request, response or signin")
    except Exception as exc:
        logging.exception("bad request")
        return {"ok": False, "reason": "badRequest", "error": f"{type(exc).__name__}: {exc}"}


def main():
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    # pysaml2 logs every refusal as an error: kept for the verdict ("error"), not printed.
    saml2_log = logging.getLogger("saml2")
    saml2_log.setLevel(logging.ERROR)
    saml2_log.propagate = False
    if not shutil.which("xmlsec1"):
        print(json.dumps({"ok": False, "reason": "badRequest", "error": "xmlsec1 not found"}))
        return 1
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(serve(line)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
