"""Shared code of the timonel lab's Kubernetes simulation: kubeadm, kubelet, kubectl and the
control-plane "images" (see tests/lab/k8s/repo for the whole picture).

Standard library only, plus the openssl command line tool for keys and certificates.

Simulation settings (the kernel and timing facts a container cannot change), read by
setting(): an environment variable KUBEADM_SIM_<NAME> (upper case, "-" -> "_") wins over the
file $KUBEADM_SIM_DIR/<name> (default directory /etc/kubeadm-sim), which wins over the
default. Files under $KUBEADM_SIM_DIR/proc/ replace the same path under /proc (sim_path()).
"""

import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

SIM_DIR = os.environ.get("KUBEADM_SIM_DIR", "/etc/kubeadm-sim")


# ---------------------------------------------------------------- simulation settings

def setting(name, default=None):
    env = os.environ.get("KUBEADM_SIM_" + name.upper().replace("-", "_"))
    if env is not None and env != "":
        return env.strip()
    try:
        with open(os.path.join(SIM_DIR, name)) as f:
            v = f.read().strip()
            if v:
                return v
    except OSError:
        pass
    return default


def sim_path(path):
    """The file to read for a /proc path: its stand-in under $KUBEADM_SIM_DIR when present."""
    if path.startswith("/proc/"):
        alt = os.path.join(SIM_DIR, path.lstrip("/"))
        if os.path.exists(alt):
            return alt
    return path


def read_sim(path):
    with open(sim_path(path), "rb") as f:
        return f.read()


# ---------------------------------------------------------------- durations (Go syntax)

_DUR = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_duration(s):
    """Seconds from a Go duration ("1h30m", "500ms", "0"); ValueError when malformed."""
    s = str(s).strip()
    if s in ("0", ""):
        return 0.0
    neg = s.startswith("-")
    body = s.lstrip("+-")
    pos, total = 0, 0.0
    while pos < len(body):
        m = _DUR.match(body, pos)
        if not m:
            raise ValueError('time: invalid duration "%s"' % s)
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos == 0:
        raise ValueError('time: invalid duration "%s"' % s)
    return -total if neg else total


def _trim(x):
    t = ("%.9f" % x).rstrip("0").rstrip(".")
    return t or "0"


def go_duration(seconds):
    """Go's time.Duration.String(): 4m0s, 24h0m0s, 501.284883ms, 1.450607677s."""
    if seconds == 0:
        return "0s"
    neg = seconds < 0
    seconds = abs(seconds)
    if seconds < 1:
        if seconds < 1e-6:
            out = "%dns" % round(seconds * 1e9)
        elif seconds < 1e-3:
            out = _trim(seconds * 1e6) + "µs"
        else:
            out = _trim(round(seconds * 1e3, 6)) + "ms"
    else:
        h = int(seconds // 3600)
        m = int((seconds - h * 3600) // 60)
        s = round(seconds - h * 3600 - m * 60, 9)
        out = ""
        if h:
            out += "%dh" % h
        if h or m:
            out += "%dm" % m
        out += _trim(s) + "s"
    return ("-" if neg else "") + out


def short_human_duration(seconds):
    """k8s.io/apimachinery duration.ShortHumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 60:
        return "%ds" % s
    if s < 3600:
        return "%dm" % (s // 60)
    if s < 86400:
        return "%dh" % (s // 3600)
    if s < 86400 * 365:
        return "%dd" % (s // 86400)
    return "%dy" % (s // (86400 * 365))


def rfc3339(t=None):
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def parse_rfc3339(s):
    s = s.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    return datetime.datetime.fromisoformat(s).timestamp()


# ---------------------------------------------------------------- YAML (the subset Kubernetes files use)

class YAMLError(ValueError):
    pass


def _strip_comment(s):
    out = []
    q = None
    i = 0
    while i < len(s):
        c = s[i]
        if q:
            if q == "'" and c == "'" and i + 1 < len(s) and s[i + 1] == "'":
                out.append("''")
                i += 2
                continue
            if q == '"' and c == "\\":
                out.append(s[i:i + 2])
                i += 2
                continue
            if c == q:
                q = None
        elif c in "'\"":
            before = "".join(out).rstrip()
            if before == "" or before[-1] in ":-[{,?":
                q = c
        elif c == "#" and (i == 0 or s[i - 1] in " \t"):
            break
        out.append(c)
        i += 1
    return "".join(out).rstrip()


def _find_colon(text):
    """Index of the ':' that separates a mapping key, or -1."""
    q = None
    depth = 0
    i = 0
    while i < len(text):
        c = text[i]
        if q:
            if q == '"' and c == "\\":
                i += 2
                continue
            if c == q:
                q = None
        elif c in "'\"" and (i == 0 or text[i - 1] in " [{,"):
            q = c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
        elif c == ":" and depth == 0 and (i + 1 == len(text) or text[i + 1] in " \t"):
            return i
        i += 1
    return -1


def _unquote(s):
    if s.startswith('"'):
        if not s.endswith('"') or len(s) < 2:
            raise YAMLError("unterminated string: %s" % s)
        try:
            return json.loads(s)
        except ValueError:
            return bytes(s[1:-1], "utf-8").decode("unicode_escape")
    if s.startswith("'"):
        if not s.endswith("'") or len(s) < 2:
            raise YAMLError("unterminated string: %s" % s)
        return s[1:-1].replace("''", "'")
    return s


_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")


def _plain(s):
    if s in ("", "~", "null", "Null", "NULL"):
        return None
    if s in ("true", "True", "TRUE"):
        return True
    if s in ("false", "False", "FALSE"):
        return False
    if _INT.match(s):
        return int(s)
    if _FLOAT.match(s) and any(ch.isdigit() for ch in s):
        return float(s)
    if s.startswith("0x") and re.match(r"^0x[0-9a-fA-F]+$", s):
        return int(s, 16)
    return s


def _split_flow(s):
    parts, cur, depth, q = [], [], 0, None
    i = 0
    while i < len(s):
        c = s[i]
        if q:
            cur.append(c)
            if q == '"' and c == "\\" and i + 1 < len(s):
                cur.append(s[i + 1])
                i += 2
                continue
            if c == q:
                q = None
        elif c in "'\"":
            q = c
            cur.append(c)
        elif c in "[{":
            depth += 1
            cur.append(c)
        elif c in "]}":
            depth -= 1
            cur.append(c)
        elif c == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    if "".join(cur).strip():
        parts.append("".join(cur).strip())
    return parts


def _scalar(s):
    s = s.strip()
    if s.startswith("[") and s.endswith("]"):
        return [_scalar(p) for p in _split_flow(s[1:-1])]
    if s.startswith("{") and s.endswith("}"):
        out = {}
        for p in _split_flow(s[1:-1]):
            i = _find_colon(p + " ") if not p.endswith(":") else len(p) - 1
            if i < 0:
                out[_unquote(p)] = None
            else:
                out[str(_scalar(p[:i]))] = _scalar(p[i + 1:])
        return out
    if s.startswith('"') or s.startswith("'"):
        return _unquote(s)
    if s.startswith("&") or s.startswith("*") or s.startswith("!"):
        # anchors, aliases and tags are not part of the subset: keep the text after a tag
        if s.startswith("!"):
            return _scalar(s.split(" ", 1)[1] if " " in s else "")
        raise YAMLError("anchors and aliases are not supported: %s" % s)
    return _plain(s)


class _Parser:
    def __init__(self, lines):
        self.lines = lines  # [(indent, text, raw)]
        self.i = 0

    def peek(self):
        return self.lines[self.i] if self.i < len(self.lines) else None

    def node(self, indent):
        ind, text, _ = self.lines[self.i]
        if text == "-" or text.startswith("- "):
            return self.seq(ind)
        if _find_colon(text) >= 0:
            return self.mapping(ind)
        # a multi-line plain scalar
        parts = []
        while self.peek() and self.peek()[0] >= indent:
            parts.append(self.peek()[1])
            self.i += 1
        return _scalar(" ".join(parts))

    def block_scalar(self, parent_indent, style):
        raw_lines = []
        while self.i < len(self.lines):
            ind, text, raw = self.lines[self.i]
            if text != "" and ind <= parent_indent:
                break
            raw_lines.append(raw)
            self.i += 1
        while raw_lines and raw_lines[-1].strip() == "":
            raw_lines.pop()
        content = [ln for ln in raw_lines if ln.strip()]
        base = min((len(ln) - len(ln.lstrip(" ")) for ln in content), default=0)
        body = [ln[base:] if ln.strip() else "" for ln in raw_lines]
        if style[0] == ">":
            text = ""
            for ln in body:
                if ln == "":
                    text += "\n"
                elif text and not text.endswith("\n"):
                    text += " " + ln
                else:
                    text += ln
        else:
            text = "\n".join(body)
        if style.endswith("-"):
            return text
        return text + "\n" if body else ""

    def value(self, rest, indent):
        """The value after 'key:' or '- ', whose own line is at `indent`."""
        if rest == "":
            nxt = self.peek()
            if nxt is None:
                return None
            if nxt[0] > indent or (nxt[0] == indent and (nxt[1] == "-" or nxt[1].startswith("- "))):
                return self.node(nxt[0])
            return None
        if rest[0] in "|>":
            return self.block_scalar(indent, rest.split()[0])
        return _scalar(rest)

    def mapping(self, indent):
        out = {}
        while True:
            cur = self.peek()
            if cur is None or cur[0] != indent or cur[1] == "-" or cur[1].startswith("- "):
                break
            text = cur[1]
            c = _find_colon(text)
            if c < 0:
                raise YAMLError("expected a 'key: value' line: %s" % text)
            key = _scalar(text[:c])
            key = "" if key is None else (key if isinstance(key, str) else
                                          ("true" if key is True else "false" if key is False
                                           else str(key)))
            self.i += 1
            out[key] = self.value(text[c + 1:].strip(), indent)
        return out

    def seq(self, indent):
        out = []
        while True:
            cur = self.peek()
            if cur is None or cur[0] != indent or not (cur[1] == "-" or cur[1].startswith("- ")):
                break
            text = cur[1]
            rest = text[1:].lstrip(" ")
            col = indent + (len(text) - len(rest))
            if rest == "":
                self.i += 1
                out.append(self.value("", indent))
            elif not rest.startswith(("'", '"', "[", "{")) and _find_colon(rest) >= 0 or \
                    (rest.startswith(("'", '"')) and _find_colon(rest) > 0):
                # "- key: value" opens a mapping whose keys sit at the column of "key"
                self.lines[self.i] = (col, rest, " " * col + rest)
                out.append(self.mapping(col))
            elif rest.startswith("- "):
                self.lines[self.i] = (col, rest, " " * col + rest)
                out.append(self.seq(col))
            else:
                self.i += 1
                if rest[0] in "|>":
                    out.append(self.block_scalar(indent, rest.split()[0]))
                else:
                    out.append(_scalar(rest))
        return out


def yaml_load_all(text):
    """Documents of a YAML stream (JSON documents too)."""
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        try:
            return [json.loads(stripped)]
        except ValueError:
            pass
    docs, cur = [], []
    for raw in text.splitlines():
        if raw.rstrip() == "---" or raw.startswith("--- ") or raw.rstrip() == "...":
            docs.append(cur)
            cur = []
            if raw.startswith("--- ") and raw[4:].strip():
                cur.append(raw[4:])
            continue
        cur.append(raw.replace("\t", "    ") if not raw.strip().startswith("#") else "")
    docs.append(cur)
    out = []
    for lines in docs:
        parsed = []
        for raw in lines:
            if raw.strip().startswith("%"):
                continue
            text = _strip_comment(raw)
            ind = len(raw) - len(raw.lstrip(" "))
            parsed.append((ind, text.strip(), raw))
        # blank lines only matter inside block scalars: keep them, the parser skips them
        p = _Parser([x for x in parsed])
        p.lines = _drop_blank_outside_blocks(parsed)
        if not p.lines:
            continue
        out.append(p.node(p.lines[0][0]))
        if p.i < len(p.lines):
            raise YAMLError("unexpected line: %s" % p.lines[p.i][2].strip())
    return out


def _drop_blank_outside_blocks(parsed):
    """Blank and comment lines, except inside block scalars (| and >)."""
    out = []
    block_indent = None
    for ind, text, raw in parsed:
        if block_indent is not None:
            if raw.strip() == "" or ind > block_indent:
                out.append((ind, text if raw.strip() else "", raw))
                continue
            block_indent = None
        if text == "":
            continue
        out.append((ind, text, raw))
        c = _find_colon(text)
        tail = text[c + 1:].strip() if c >= 0 else (text[1:].strip() if text.startswith("-")
                                                    else "")
        if tail[:1] in ("|", ">") and re.match(r"^[|>][-+]?\d*$", tail):
            block_indent = ind
        elif text.startswith("- ") and re.match(r"^[|>][-+]?\d*$", text[2:].strip()):
            block_indent = ind
    # trailing blank lines of a block are kept; the block scalar strips them
    return out


def yaml_load(text):
    docs = yaml_load_all(text)
    return docs[0] if docs else None


_PLAIN_OK = re.compile(r"^[A-Za-z0-9_./=+@%()$<>~^-][A-Za-z0-9 _./:=+@%()$<>~^,-]*$")


def _yaml_str(s):
    if s == "" or s != s.strip() or not _PLAIN_OK.match(s) or _plain(s) != s or \
            ": " in s or s.endswith(":") or " #" in s or s.startswith(("-", "?")) and \
            (len(s) == 1 or s[1] == " "):
        return json.dumps(s)
    return s


def _yaml_scalar(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    return _yaml_str(str(v))


def yaml_dump(obj, indent=0):
    """Block-style YAML as Go's sigs.k8s.io/yaml writes it (keys in the given order,
    sequences not indented under their key)."""
    return "\n".join(_dump(obj, indent)) + "\n"


def _dump(obj, indent):
    pad = " " * indent
    lines = []
    if isinstance(obj, dict):
        if not obj:
            return [pad + "{}"]
        for k, v in obj.items():
            key = _yaml_str(str(k))
            if isinstance(v, dict) and v:
                lines.append("%s%s:" % (pad, key))
                lines += _dump(v, indent + 2)
            elif isinstance(v, list) and v:
                lines.append("%s%s:" % (pad, key))
                lines += _dump(v, indent)
            elif isinstance(v, str) and "\n" in v and not v.endswith("\n\n") and \
                    all(ln == ln.rstrip() for ln in v.split("\n")):
                style = "|" if v.endswith("\n") else "|-"
                lines.append("%s%s: %s" % (pad, key, style))
                for ln in (v[:-1] if v.endswith("\n") else v).split("\n"):
                    lines.append((pad + "  " + ln) if ln else "")
            else:
                lines.append("%s%s: %s" % (pad, key, "{}" if v == {} else "[]" if v == []
                                           else _yaml_scalar(v)))
        return lines
    if isinstance(obj, list):
        if not obj:
            return [pad + "[]"]
        for v in obj:
            if isinstance(v, (dict, list)) and v:
                sub = _dump(v, indent + 2)
                lines.append(pad + "- " + sub[0][indent + 2:])
                lines += sub[1:]
            else:
                lines.append(pad + "- " + ("{}" if v == {} else "[]" if v == []
                                           else _yaml_scalar(v)))
        return lines
    return [pad + _yaml_scalar(obj)]


# ---------------------------------------------------------------- files

def write_file(path, data, mode=0o600):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    tmp = "%s.tmp-%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def read_text(path):
    with open(path) as f:
        return f.read()


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def unb64(s):
    return base64.b64decode(s)


# ---------------------------------------------------------------- openssl

class OpenSSLError(Exception):
    pass


def openssl(*args, input=None):
    try:
        p = subprocess.run(["openssl"] + list(args), input=input, capture_output=True)
    except FileNotFoundError:
        raise OpenSSLError("openssl: executable file not found in $PATH")
    if p.returncode != 0:
        raise OpenSSLError("openssl %s: %s" % (args[0], p.stderr.decode(errors="replace").strip()))
    return p.stdout


def gen_rsa_key(path, bits=2048):
    key = openssl("genrsa", "-traditional", str(bits))
    write_file(path, key, 0o600)
    return key


def public_key_pem(key_path):
    return openssl("rsa", "-in", key_path, "-pubout")


def make_ca(cert_path, key_path, cn, days=3650):
    if not os.path.exists(key_path):
        gen_rsa_key(key_path)
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "ca.crt")
        openssl("req", "-x509", "-new", "-key", key_path, "-subj", "/CN=" + cn, "-days", str(days),
                "-sha256", "-set_serial", "0x" + secrets.token_hex(8),
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
                "-addext", "subjectKeyIdentifier=hash", "-out", out)
        write_file(cert_path, read_text(out), 0o644)


def subject(cn, orgs=()):
    return "".join("/O=" + o for o in orgs) + "/CN=" + cn


def sign_csr(csr_pem, ca_cert, ca_key, usages=("client",), dns=(), ips=(), days=365):
    """A certificate (PEM) for a CSR, signed by the CA files."""
    eku = {"server": "serverAuth", "client": "clientAuth"}
    ext = ["[ext]", "basicConstraints=critical,CA:FALSE",
           "keyUsage=critical,digitalSignature,keyEncipherment",
           "extendedKeyUsage=" + ",".join(eku[u] for u in usages),
           "authorityKeyIdentifier=keyid"]
    sans = ["DNS:" + d for d in dns] + ["IP:" + i for i in ips]
    if sans:
        ext.append("subjectAltName=" + ",".join(sans))
    with tempfile.TemporaryDirectory() as d:
        extf = os.path.join(d, "ext.cnf")
        write_file(extf, "\n".join(ext) + "\n")
        csrf = os.path.join(d, "req.csr")
        write_file(csrf, csr_pem)
        return openssl("x509", "-req", "-in", csrf, "-CA", ca_cert, "-CAkey", ca_key,
                       "-set_serial", "0x" + secrets.token_hex(8), "-days", str(days),
                       "-sha256", "-extfile", extf, "-extensions", "ext").decode()


def make_cert(cert_path, key_path, ca_cert, ca_key, cn, orgs=(), usages=("client",), dns=(),
              ips=(), days=365):
    if not os.path.exists(key_path):
        gen_rsa_key(key_path)
    csr = openssl("req", "-new", "-key", key_path, "-subj", subject(cn, orgs))
    write_file(cert_path, sign_csr(csr, ca_cert, ca_key, usages, dns, ips, days), 0o644)


def self_signed(cert_path, key_path, cn, dns=(), ips=(), days=365):
    """An ECDSA self-signed serving certificate (what components make for themselves)."""
    key = openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256")
    write_file(key_path, key, 0o600)
    sans = ",".join(["DNS:" + d for d in dns] + ["IP:" + i for i in ips]) or "DNS:" + cn
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "c.crt")
        openssl("req", "-x509", "-new", "-key", key_path, "-subj", "/CN=" + cn, "-days",
                str(days), "-addext", "subjectAltName=" + sans, "-out", out)
        write_file(cert_path, read_text(out), 0o644)


def spki_sha256(cert_pem):
    """The hex SHA-256 of a certificate's SubjectPublicKeyInfo (kubeadm's CA pin)."""
    if isinstance(cert_pem, str):
        cert_pem = cert_pem.encode()
    pub = openssl("x509", "-pubkey", "-noout", input=cert_pem)
    der = openssl("pkey", "-pubin", "-outform", "DER", input=pub)
    return hashlib.sha256(der).hexdigest()


def cert_pems(text):
    if isinstance(text, bytes):
        text = text.decode()
    return re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", text, re.S)


def csr_subject(csr_pem):
    """{"CN": ..., "O": [...]} of a PEM certificate request."""
    if isinstance(csr_pem, str):
        csr_pem = csr_pem.encode()
    out = openssl("req", "-noout", "-subject", "-nameopt", "RFC2253", input=csr_pem).decode()
    out = out.strip()
    if out.startswith("subject="):
        out = out[len("subject="):]
    res = {"CN": "", "O": []}
    for part in re.split(r"(?<!\\),", out):
        k, _, v = part.strip().partition("=")
        if k == "CN":
            res["CN"] = v
        elif k == "O":
            res["O"].append(v)
    return res


def cert_not_after(cert_pem):
    if isinstance(cert_pem, str):
        cert_pem = cert_pem.encode()
    out = openssl("x509", "-noout", "-enddate", input=cert_pem).decode().strip()
    return out.split("=", 1)[1]


# ---------------------------------------------------------------- AES-256-GCM (kubeadm-certs)

_SBOX = [0] * 256


def _init_sbox():
    p = q = 1
    first = True
    while first or p != 1:
        first = False
        p = p ^ ((p << 1) & 0xFF) ^ (0x1B if p & 0x80 else 0)
        q ^= q << 1
        q ^= q << 2
        q ^= q << 4
        q &= 0xFF
        if q & 0x80:
            q ^= 0x09
        x = q ^ ((q << 1) | (q >> 7)) & 0xFF ^ ((q << 2) | (q >> 6)) & 0xFF ^ \
            ((q << 3) | (q >> 5)) & 0xFF ^ ((q << 4) | (q >> 4)) & 0xFF
        _SBOX[p] = (x ^ 0x63) & 0xFF
    _SBOX[0] = 0x63


_init_sbox()


def _xt(a):
    return ((a << 1) ^ 0x1B) & 0xFF if a & 0x80 else a << 1


_T0 = []
for _s in _SBOX:
    _s2 = _xt(_s)
    _s3 = _s2 ^ _s
    _T0.append((_s2 << 24) | (_s << 16) | (_s << 8) | _s3)
_T1 = [((t >> 8) | (t << 24)) & 0xFFFFFFFF for t in _T0]
_T2 = [((t >> 16) | (t << 16)) & 0xFFFFFFFF for t in _T0]
_T3 = [((t >> 24) | (t << 8)) & 0xFFFFFFFF for t in _T0]


def _expand_key(key):
    nk = len(key) // 4
    nr = nk + 6
    w = list(struct.unpack(">%dI" % nk, key))
    rcon = 1
    for i in range(nk, 4 * (nr + 1)):
        t = w[i - 1]
        if i % nk == 0:
            t = ((t << 8) | (t >> 24)) & 0xFFFFFFFF
            t = (_SBOX[t >> 24] << 24) | (_SBOX[(t >> 16) & 0xFF] << 16) | \
                (_SBOX[(t >> 8) & 0xFF] << 8) | _SBOX[t & 0xFF]
            t ^= rcon << 24
            rcon = _xt(rcon)
        elif nk > 6 and i % nk == 4:
            t = (_SBOX[t >> 24] << 24) | (_SBOX[(t >> 16) & 0xFF] << 16) | \
                (_SBOX[(t >> 8) & 0xFF] << 8) | _SBOX[t & 0xFF]
        w.append(w[i - nk] ^ t)
    return w, nr


def _encrypt_block(ks, block):
    w, nr = ks
    s0, s1, s2, s3 = struct.unpack(">4I", block)
    s0 ^= w[0]
    s1 ^= w[1]
    s2 ^= w[2]
    s3 ^= w[3]
    k = 4
    for _ in range(nr - 1):
        t0 = _T0[s0 >> 24] ^ _T1[(s1 >> 16) & 255] ^ _T2[(s2 >> 8) & 255] ^ _T3[s3 & 255] ^ w[k]
        t1 = _T0[s1 >> 24] ^ _T1[(s2 >> 16) & 255] ^ _T2[(s3 >> 8) & 255] ^ _T3[s0 & 255] ^ w[k + 1]
        t2 = _T0[s2 >> 24] ^ _T1[(s3 >> 16) & 255] ^ _T2[(s0 >> 8) & 255] ^ _T3[s1 & 255] ^ w[k + 2]
        t3 = _T0[s3 >> 24] ^ _T1[(s0 >> 16) & 255] ^ _T2[(s1 >> 8) & 255] ^ _T3[s2 & 255] ^ w[k + 3]
        s0, s1, s2, s3 = t0, t1, t2, t3
        k += 4
    S = _SBOX
    r0 = (S[s0 >> 24] << 24 | S[(s1 >> 16) & 255] << 16 | S[(s2 >> 8) & 255] << 8 | S[s3 & 255]) ^ w[k]
    r1 = (S[s1 >> 24] << 24 | S[(s2 >> 16) & 255] << 16 | S[(s3 >> 8) & 255] << 8 | S[s0 & 255]) ^ w[k + 1]
    r2 = (S[s2 >> 24] << 24 | S[(s3 >> 16) & 255] << 16 | S[(s0 >> 8) & 255] << 8 | S[s1 & 255]) ^ w[k + 2]
    r3 = (S[s3 >> 24] << 24 | S[(s0 >> 16) & 255] << 16 | S[(s1 >> 8) & 255] << 8 | S[s2 & 255]) ^ w[k + 3]
    return struct.pack(">4I", r0, r1, r2, r3)


_R = 0xE1 << 120


def _gmul(x, y):
    z = 0
    v = y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ _R if v & 1 else v >> 1
    return z


def _ghash(h, data):
    y = 0
    for i in range(0, len(data), 16):
        blk = data[i:i + 16]
        blk += b"\0" * (16 - len(blk))
        y = _gmul(y ^ int.from_bytes(blk, "big"), h)
    return y


def _gcm(ks, nonce, data):
    j0 = nonce + b"\0\0\0\1"
    out = bytearray()
    ctr = int.from_bytes(j0, "big")
    for i in range(0, len(data), 16):
        ctr = (ctr & ~0xFFFFFFFF) | ((ctr + 1) & 0xFFFFFFFF)
        stream = _encrypt_block(ks, ctr.to_bytes(16, "big"))
        chunk = data[i:i + 16]
        out += bytes(a ^ b for a, b in zip(chunk, stream))
    return bytes(out), j0


def _tag(ks, j0, ct):
    h = int.from_bytes(_encrypt_block(ks, b"\0" * 16), "big")
    lens = struct.pack(">QQ", 0, len(ct) * 8)
    s = _ghash(h, ct + b"\0" * (-len(ct) % 16) + lens)
    return (s ^ int.from_bytes(_encrypt_block(ks, j0), "big")).to_bytes(16, "big")


def gcm_encrypt(key, plaintext, nonce=None):
    """nonce || ciphertext || tag, as Go's gcm.Seal(nonce, nonce, data, nil) (kubeadm's
    cryptoutil.EncryptBytes)."""
    ks = _expand_key(key)
    nonce = nonce or secrets.token_bytes(12)
    ct, j0 = _gcm(ks, nonce, plaintext)
    return nonce + ct + _tag(ks, j0, ct)


class DecryptError(Exception):
    pass


def gcm_decrypt(key, data):
    if len(data) < 12:
        raise DecryptError("size of data is less than the nonce size")
    ks = _expand_key(key)
    nonce, ct, tag = data[:12], data[12:-16], data[-16:]
    if len(data) < 28:
        raise DecryptError("cipher: message authentication failed")
    _, j0 = _gcm(ks, nonce, b"")
    if not hmac.compare_digest(_tag(ks, j0, ct), tag):
        raise DecryptError("cipher: message authentication failed")
    pt, _ = _gcm(ks, nonce, ct)
    return pt


# ---------------------------------------------------------------- bootstrap tokens and JWS

TOKEN_RE = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
TOKEN_PATTERN = "^([a-z0-9]{6})\\.([a-z0-9]{16})$"
_TOKEN_CHARS = "0123456789abcdefghijklmnopqrstuvwxyz"


def generate_token():
    pick = lambda n: "".join(secrets.choice(_TOKEN_CHARS) for _ in range(n))
    return pick(6) + "." + pick(16)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jws_detached(content, token_id, token_secret):
    """A detached JWS (header..signature), HS256 keyed by the token secret, kid the token id:
    what the bootstrap signer puts in cluster-info as jws-kubeconfig-<id>."""
    header = b64url(json.dumps({"alg": "HS256", "kid": token_id}, separators=(",", ":")).encode())
    payload = b64url(content.encode())
    sig = hmac.new(token_secret.encode(), (header + "." + payload).encode(), hashlib.sha256).digest()
    return header + ".." + b64url(sig)


def jws_valid(detached, content, token_id, token_secret):
    return hmac.compare_digest(detached, jws_detached(content, token_id, token_secret))


def token_secret_data(secret):
    """The decoded data of a bootstrap-token Secret."""
    out = {}
    for k, v in (secret.get("data") or {}).items():
        try:
            out[k] = unb64(v).decode()
        except (ValueError, UnicodeDecodeError):
            out[k] = ""
    return out


def token_expired(data, now=None):
    exp = data.get("expiration")
    if not exp:
        return False
    try:
        return parse_rfc3339(exp) <= (time.time() if now is None else now)
    except ValueError:
        return True


# ---------------------------------------------------------------- kubeconfig

def kubeconfig(server, ca_pem, user, cluster="kubernetes", cert_pem=None, key_pem=None,
               cert_file=None, key_file=None, token=None):
    u = {}
    if cert_pem:
        u["client-certificate-data"] = b64(cert_pem)
    if cert_file:
        u["client-certificate"] = cert_file
    if key_pem:
        u["client-key-data"] = b64(key_pem)
    if key_file:
        u["client-key"] = key_file
    if token:
        u["token"] = token
    ctx = "%s@%s" % (user, cluster)
    return {"apiVersion": "v1",
            "clusters": [{"cluster": {"certificate-authority-data": b64(ca_pem), "server": server},
                          "name": cluster}],
            "contexts": [{"context": {"cluster": cluster, "user": user}, "name": ctx}],
            "current-context": ctx, "kind": "Config", "preferences": {},
            "users": [{"name": user, "user": u}]}


class KubeconfigError(Exception):
    pass


def load_kubeconfig(path, context=None):
    """{"server", "ca_pem", "cert_pem", "key_pem", "token", "cluster", "user"} of a kubeconfig."""
    try:
        text = read_text(path)
    except OSError as e:
        raise KubeconfigError("open %s: %s" % (path, e.strerror.lower() if e.strerror else e))
    try:
        cfg = yaml_load(text) or {}
    except YAMLError as e:
        raise KubeconfigError("error loading config file \"%s\": %s" % (path, e))
    return kubeconfig_info(cfg, context, os.path.dirname(path))


def kubeconfig_info(cfg, context=None, base="."):
    ctx_name = context or cfg.get("current-context") or ""
    ctx = next((c.get("context") or {} for c in cfg.get("contexts") or []
                if c.get("name") == ctx_name), None)
    if ctx is None:
        clusters = cfg.get("clusters") or []
        if not clusters:
            raise KubeconfigError("invalid configuration: no configuration has been provided")
        ctx = {"cluster": clusters[0].get("name"), "user": None}
    cl = next((c.get("cluster") or {} for c in cfg.get("clusters") or []
               if c.get("name") == ctx.get("cluster")), {})
    us = next((u.get("user") or {} for u in cfg.get("users") or []
               if u.get("name") == ctx.get("user")), {})

    def data(obj, key):
        if obj.get(key + "-data"):
            return unb64(obj[key + "-data"]).decode()
        if obj.get(key):
            p = obj[key] if os.path.isabs(obj[key]) else os.path.join(base, obj[key])
            return read_text(p)
        return None

    return {"server": cl.get("server") or "", "ca_pem": data(cl, "certificate-authority"),
            "insecure": bool(cl.get("insecure-skip-tls-verify")),
            "tls_server_name": cl.get("tls-server-name"),
            "cert_pem": data(us, "client-certificate"), "key_pem": data(us, "client-key"),
            "token": us.get("token"), "cluster": ctx.get("cluster"), "user": ctx.get("user")}


# ---------------------------------------------------------------- API client

class ApiError(Exception):
    def __init__(self, status, body, message):
        super().__init__(message)
        self.status, self.body, self.message = status, body, message

    @property
    def reason(self):
        return (self.body or {}).get("reason", "") if isinstance(self.body, dict) else ""


class DialError(Exception):
    pass


def _dial_text(e):
    if isinstance(e, ConnectionRefusedError):
        return "connect: connection refused"
    if isinstance(e, socket.timeout) or isinstance(e, TimeoutError):
        return "i/o timeout"
    if isinstance(e, socket.gaierror):
        return "no such host"
    if isinstance(e, ssl.SSLCertVerificationError):
        return "tls: failed to verify certificate: " + (e.verify_message or str(e))
    if isinstance(e, OSError) and e.strerror:
        return e.strerror.lower()
    return str(e)


class Api:
    def __init__(self, server, ca_pem=None, cert_pem=None, key_pem=None, token=None,
                 insecure=False, timeout=10.0, server_name=None, user_agent=None):
        m = re.match(r"^https?://([^/]+)", server or "")
        if not m:
            raise KubeconfigError("invalid server URL %r" % server)
        self.server = server.rstrip("/")
        self.https = server.startswith("https://")
        hostport = m.group(1)
        if hostport.startswith("["):
            host, _, port = hostport[1:].partition("]")
            port = port.lstrip(":")
        else:
            host, _, port = hostport.partition(":")
        self.host, self.port = host, int(port or (443 if self.https else 80))
        self.timeout = timeout
        self.token = token
        self.user_agent = user_agent or "kubeadm/v1.33.1 (linux/amd64) kubernetes/sim"
        self.ctx = None
        if self.https:
            if insecure:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            else:
                ctx = ssl.create_default_context(cadata=ca_pem) if ca_pem else \
                    ssl.create_default_context()
            if cert_pem and key_pem:
                certs = "".join(cert_pems(cert_pem))
                keys = re.findall(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE "
                                  r"KEY-----\n?", key_pem, re.S)
                with tempfile.TemporaryDirectory() as d:
                    cf = os.path.join(d, "client.pem")
                    write_file(cf, certs + (keys[0] if keys else key_pem))
                    ctx.load_cert_chain(cf)
            self.ctx = ctx
        self.server_name = server_name or host

    @classmethod
    def from_kubeconfig(cls, path, **kw):
        info = load_kubeconfig(path)
        return cls(info["server"], info["ca_pem"], info["cert_pem"], info["key_pem"],
                   info["token"], insecure=info["insecure"],
                   server_name=info["tls_server_name"], **kw)

    def url(self, path):
        return self.server + path

    def raw(self, method, path, body=None, content_type="application/json",
            accept="application/json"):
        """(status, headers, bytes); DialError when the server cannot be reached."""
        headers = {"Accept": accept, "User-Agent": self.user_agent}
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = content_type
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        try:
            if self.https:
                conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                                   context=self.ctx)
                if self.server_name != self.host:
                    # TLS names another host than the one dialed (--tls-server-name)
                    sock = socket.create_connection((self.host, self.port), self.timeout)
                    conn.sock = self.ctx.wrap_socket(sock, server_hostname=self.server_name)
            else:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            out = resp.read()
            conn.close()
            return resp.status, dict(resp.getheaders()), out
        except (OSError, ssl.SSLError, http.client.HTTPException) as e:
            sep = "&" if "?" in path else "?"
            verb = {"GET": "Get", "POST": "Post", "PUT": "Put", "PATCH": "Patch",
                    "DELETE": "Delete"}.get(method, method)
            addr = self.host
            try:
                addr = socket.gethostbyname(self.host)
            except OSError:
                pass
            if isinstance(e, socket.gaierror):
                detail = "dial tcp: lookup %s: no such host" % self.host
            elif isinstance(e, ssl.SSLError):
                detail = _dial_text(e)
            else:
                detail = "dial tcp %s:%d: %s" % (addr, self.port, _dial_text(e))
            raise DialError('%s "%s%s%stimeout=%ds": %s' % (verb, self.server, path, sep,
                                                             int(self.timeout), detail))

    def request(self, method, path, body=None, content_type="application/json",
                accept="application/json"):
        status, _, out = self.raw(method, path, body, content_type, accept)
        try:
            parsed = json.loads(out) if out else None
        except ValueError:
            parsed = out.decode(errors="replace")
        if status >= 400:
            msg = parsed.get("message") if isinstance(parsed, dict) else None
            if not msg:
                msg = {401: "Unauthorized", 403: "Forbidden", 404: "the server could not find "
                       "the requested resource"}.get(status, "the server responded with status %d"
                                                     % status)
            raise ApiError(status, parsed if isinstance(parsed, dict) else None, msg)
        return parsed

    def get(self, path):
        return self.request("GET", path)

    def get_or_none(self, path):
        try:
            return self.get(path)
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    def post(self, path, body):
        return self.request("POST", path, body)

    def put(self, path, body):
        return self.request("PUT", path, body)

    def merge_patch(self, path, body):
        return self.request("PATCH", path, body, "application/merge-patch+json")

    def delete(self, path):
        return self.request("DELETE", path)

    def create_or_update(self, collection, obj):
        """POST, or PUT over the live object when it exists (kubeadm's CreateOrUpdate*)."""
        name = obj["metadata"]["name"]
        try:
            return self.post(collection, obj)
        except ApiError as e:
            if e.status != 409:
                raise
        live = self.get(collection + "/" + name)
        obj = json.loads(json.dumps(obj))
        obj["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
        return self.put(collection + "/" + name, obj)


# ---------------------------------------------------------------- processes, logs, network

def klog(level, where, msg, out=None):
    t = time.time()
    line = "%s%s %s.%06d %7d %s] %s\n" % (level, time.strftime("%m%d", time.localtime(t)),
                                          time.strftime("%H:%M:%S", time.localtime(t)),
                                          int((t % 1) * 1e6), os.getpid(), where, msg)
    (out or sys.stderr).write(line)
    (out or sys.stderr).flush()


def pid_alive(pidfile, marker=None):
    try:
        pid = int(read_text(pidfile).strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    if marker:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if marker.encode() not in f.read():
                    return None
        except OSError:
            return None
    try:
        with open("/proc/%d/stat" % pid) as f:
            if f.read().split(") ")[-1].startswith("Z"):
                return None
    except OSError:
        pass
    return pid


def stop_pid(pidfile, marker=None, timeout=5.0):
    pid = pid_alive(pidfile, marker)
    if pid:
        try:
            os.kill(pid, 15)
        except OSError:
            pass
        deadline = time.time() + timeout
        while time.time() < deadline and pid_alive(pidfile, marker):
            time.sleep(0.05)
        if pid_alive(pidfile, marker):
            try:
                os.kill(pid, 9)
            except OSError:
                pass
    try:
        os.unlink(pidfile)
    except OSError:
        pass
    return pid


def spawn(args, logfile, pidfile, env=None):
    """A daemon in its own session, detached from the caller's terminal and SSH channel."""
    os.makedirs(os.path.dirname(logfile), exist_ok=True)
    os.makedirs(os.path.dirname(pidfile), exist_ok=True)
    log = open(logfile, "ab")
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         start_new_session=True, close_fds=True, env=env)
    log.close()
    write_file(pidfile, "%d\n" % p.pid, 0o644)
    return p.pid


def default_ipv4():
    """The address of the interface with the default route, as kubeadm picks it."""
    try:
        out = subprocess.run(["ip", "-4", "route", "get", "1.1.1.1"], capture_output=True,
                             text=True).stdout
        m = re.search(r"\bsrc (\d+\.\d+\.\d+\.\d+)", out)
        if m:
            return m.group(1)
    except OSError:
        pass
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("1.1.1.1", 53))
        return s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()


def port_in_use(port):
    s = socket.socket(socket.AF_INET6 if socket.has_ipv6 else socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if s.family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("", port))
        s.listen(1)
        return False
    except OSError:
        return True
    finally:
        s.close()


def is_ip(s):
    try:
        socket.inet_pton(socket.AF_INET, s)
        return True
    except OSError:
        pass
    try:
        socket.inet_pton(socket.AF_INET6, s)
        return True
    except OSError:
        return False


def is_ipv4(s):
    try:
        socket.inet_pton(socket.AF_INET, s)
        return True
    except OSError:
        return False


def split_hostport(ep, default_port):
    if ep.startswith("["):
        host, _, rest = ep[1:].partition("]")
        return host, int(rest.lstrip(":") or default_port)
    if ep.count(":") == 1:
        host, port = ep.split(":")
        return host, int(port)
    return ep, default_port


def join_hostport(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def cidr_ip(cidr, index):
    """The index-th address of an IPv4 CIDR (10.96.0.0/12, 1 -> 10.96.0.1)."""
    net = cidr.split(",")[0].split("/")[0]
    n = struct.unpack(">I", socket.inet_aton(net))[0] + index
    return socket.inet_ntoa(struct.pack(">I", n))


def cri_status(endpoint):
    """None when the CRI endpoint answers (a listening unix socket, or a plain file standing in
    for one), else the gRPC-style dial error text."""
    path = endpoint[len("unix://"):] if endpoint.startswith("unix://") else endpoint
    if os.path.isfile(path):
        return None
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(path)
        return None
    except FileNotFoundError:
        err = "no such file or directory"
    except ConnectionRefusedError:
        err = "connection refused"
    except OSError as e:
        err = (e.strerror or str(e)).lower()
    finally:
        s.close()
    return ('validate service connection: validate CRI v1 runtime API for endpoint "%s": rpc '
            'error: code = Unavailable desc = connection error: desc = "transport: Error while '
            'dialing: dial unix %s: connect: %s"' % (endpoint, path, err))


KNOWN_CRI = ["unix:///var/run/containerd/containerd.sock", "unix:///var/run/crio/crio.sock",
             "unix:///var/run/cri-dockerd.sock"]


def swap_on():
    try:
        lines = [ln for ln in read_sim("/proc/swaps").decode().splitlines() if ln.strip()]
    except OSError:
        return False
    return len(lines) > 1


def which(name):
    return shutil.which(name, path=os.environ.get("PATH", "") +
                        ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
