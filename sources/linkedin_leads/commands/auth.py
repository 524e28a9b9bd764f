"""``python -m linkedin_leads auth``: LinkedIn's 3-legged OAuth for the user's own app, in one command.

LinkedIn's Authorization Code Flow (Microsoft Learn, "Authorization Code Flow (3-legged OAuth)"):
the member opens ``authorization_url?response_type=code&client_id=..&redirect_uri=..&state=..
&scope=..`` and approves; LinkedIn redirects the browser to ``redirect_uri?code=..&state=..``; the
app exchanges the code at the token URL (``grant_type=authorization_code``) for an access token
and, for apps approved for them, a refresh token.

Here the redirect URI is a loopback one, ``http://127.0.0.1:<port>/callback``, served by this
command while it waits (register it in the LinkedIn app's "Authorized redirect URLs"). Where the
browser runs on another machine, ``--no-browser`` prints the URL and also takes the redirected
URL pasted on standard input. The ``state`` is random and checked. The client id, client secret
and refresh token are written into ``.dlt/secrets.toml`` under
``[sources.linkedin_leads.credentials]``, keeping every other key and comment, mode 600. Tokens
are never printed: only when they expire.
"""

import http.server
import os
import queue
import secrets
import sys
import threading
import time
import webbrowser
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlencode, urlparse

import dlt
import tomlkit
from dlt.sources.helpers.requests import Session

from ..api.credentials import token_answer
from ..api.exceptions import LinkedInAuthError, LinkedInConfigError
from ..settings import DEFAULT_AUTHORIZATION_URL, DEFAULT_TOKEN_URL, PLACEHOLDERS, command

DEFAULT_PORT = 8765
"""The loopback port of the redirect URI, ``http://127.0.0.1:8765/callback`` by default."""
CALLBACK_PATH = "/callback"
CREDENTIALS = ("sources", "linkedin_leads", "credentials")
WAIT_SECONDS = 600.0
EMPTY_PASTE = "<an empty line>"
END_OF_INPUT = "<the end of the input>"


def needed_scopes() -> List[str]:
    """The scopes the configured owners need.

    Returns:
        List[str]: ``r_marketing_leadgen_automation`` always; ``r_ads`` for ad accounts (or their
        discovery), ``r_organization_admin`` for organizations (or their discovery).
    """
    accounts: Any = dlt.config.get("sources.linkedin_leads.account_ids")
    organizations: Any = dlt.config.get("sources.linkedin_leads.organization_ids")
    discovering = not accounts and not organizations
    scopes = ["r_marketing_leadgen_automation"]
    if accounts or discovering:
        scopes.append("r_ads")
    if organizations or discovering:
        scopes.append("r_organization_admin")
    return scopes


def setting(name: str, default: Optional[str] = None) -> Optional[str]:
    """A credentials setting as configured.

    Args:
        name: The key under ``[sources.linkedin_leads.credentials]``.
        default: What to return when it is not set.

    Returns:
        Optional[str]: The value, or ``default``.
    """
    value: Any = dlt.secrets.get(f"sources.linkedin_leads.credentials.{name}")
    return str(value) if value not in (None, "") else default


def authorization_link(authorization_url: str, client_id: str, redirect_uri: str, state: str) -> str:
    """The link to LinkedIn's consent page, asking for ``needed_scopes``.

    Args:
        authorization_url: LinkedIn's authorization page.
        client_id: The app's client id.
        redirect_uri: The loopback URL LinkedIn redirects to (registered in the app).
        state: The random value the redirect must carry back.

    Returns:
        str: The link.
    """
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": " ".join(needed_scopes()),
        }
    )
    return f"{authorization_url}?{query}"


class _Callback(http.server.BaseHTTPRequestHandler):
    answers: "queue.Queue[str]"

    def log_message(self, message: str, *args: Any) -> None:  # quiet: no line per request
        pass

    def do_GET(self) -> None:
        if urlparse(self.path).path != CALLBACK_PATH:
            self.send_response(404)
            self.end_headers()
            return
        self.answers.put(self.path)
        body = b"linkedin_leads: authorization received. You can close this window."
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Loopback:
    """The loopback server of the redirect URI, listening before the link is opened (a browser
    that answers at once finds it up), and the pasted URL on stdin where the browser is elsewhere."""

    def __init__(self, port: int) -> None:
        self.answers: queue.Queue[str] = queue.Queue()
        handler = type("Callback", (_Callback,), {"answers": self.answers})
        try:
            self.server = http.server.HTTPServer(("127.0.0.1", port), handler)
        except OSError as exc:
            raise LinkedInConfigError(
                "--port",
                str(port),
                f"the port is taken ({exc.strerror}): pass another with --port "
                "and register http://127.0.0.1:<port>/callback in the LinkedIn app",
            ) from None
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def read_stdin(self) -> None:
        """Also takes the redirected URL pasted on standard input (the browser is elsewhere)."""

        def pasted() -> None:
            for line in sys.stdin:
                self.answers.put(line.strip() or EMPTY_PASTE)
                return
            self.answers.put(END_OF_INPUT)

        threading.Thread(target=pasted, daemon=True).start()

    def wait(self, timeout: float = WAIT_SECONDS) -> str:
        """The redirected URL (its path and query), whichever way it came first.

        Args:
            timeout: Seconds to wait for it.

        Returns:
            str: The redirected URL.

        Raises:
            LinkedInAuthError: If nothing came back in time.
            LinkedInConfigError: If what was pasted is empty, or not a URL, or stdin ended.
        """
        try:
            answer = self.answers.get(timeout=timeout)
        except queue.Empty:
            raise LinkedInAuthError(f"No authorization came back within {timeout:g} s") from None
        finally:
            self.server.shutdown()
            self.server.server_close()
        if answer in (EMPTY_PASTE, END_OF_INPUT) or not answer.startswith(("/", "http://", "https://")):
            value = answer if answer in (EMPTY_PASTE, END_OF_INPUT) else "<not a URL>"
            raise LinkedInConfigError(
                "pasted URL",
                value,
                "paste the whole URL your browser was redirected to (it starts with "
                "http://127.0.0.1:), then Enter; run the command again for a new link.",
            )
        return answer


def code_from(redirected: str, state: str) -> str:
    """The code of a redirected URL, once its ``state`` is ours and LinkedIn sent no error.

    Args:
        redirected: The URL LinkedIn redirected to (or its path and query).
        state: The ``state`` this command sent.

    Returns:
        str: The authorization code.

    Raises:
        LinkedInAuthError: A foreign ``state``, LinkedIn's refusal, or no code.
    """
    query = {k: v[0] for k, v in parse_qs(urlparse(redirected).query).items()}
    if query.get("state") != state:
        raise LinkedInAuthError(
            "The redirect's `state` is not the one this command sent: refused (a stale or forged "
            f"redirect). Run `{command('auth')}` again and use the link it prints."
        )
    if "error" in query:
        raise LinkedInAuthError(
            f"LinkedIn did not authorize the app: {query['error']} ({query.get('error_description', '')})."
            " Approve the request on LinkedIn's page, with a member who has a role on the ad accounts"
            " and company pages."
        )
    if not query.get("code"):
        raise LinkedInAuthError("The redirect carries no `code`")
    return query["code"]


def exchange(
    token_url: str, client_id: str, client_secret: str, code: str, redirect_uri: str
) -> Dict[str, Any]:
    """The token answer for an authorization code (``grant_type=authorization_code``).

    Args:
        token_url: LinkedIn's token endpoint.
        client_id: The app's client id.
        client_secret: The app's client secret.
        code: The authorization code.
        redirect_uri: The redirect URL the code was sent to.

    Returns:
        Dict[str, Any]: LinkedIn's answer: the access token, maybe a refresh token, their lives.

    Raises:
        LinkedInAuthError: If the endpoint refuses the code or does not answer.
    """
    return token_answer(
        Session(raise_for_status=False),
        token_url,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": client_secret,
        },
        "the code",
        f"A code is good once and for minutes: run `{command('auth')}` again; check "
        "client_id, client_secret and the app's registered redirect URL.",
    )


def write_secrets(path: Path, values: Dict[str, str]) -> None:
    """Sets ``values`` under ``[sources.linkedin_leads.credentials]``, keeping every other key and
    comment, and leaves the file readable by its owner only (mode 600).

    Args:
        path: The secrets file (made if missing).
        values: The keys to set, e.g. ``client_id`` and ``refresh_token``.
    """
    document = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    table: Any = document
    for name in CREDENTIALS:
        if name not in table:
            table[name] = tomlkit.table()
        table = table[name]
    for key, value in values.items():
        table[key] = value
    if "refresh_token" in values and "access_token" in table:
        del table["access_token"]  # one kind of credentials: the refresh token renews access tokens
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(tomlkit.dumps(document))
    os.chmod(path, 0o600)


def authorize(port: int, open_browser: bool, secrets_path: Path) -> Tuple[str, Dict[str, Any]]:
    """The whole flow: the link, the member's consent, the code, the tokens, the secrets file.

    Args:
        port: The loopback port of the redirect URL.
        open_browser: Open the link in a browser (else print it and also read a pasted URL).
        secrets_path: The secrets file to write.

    Returns:
        Tuple[str, Dict[str, Any]]: The summary to print (no token in it) and LinkedIn's answer.

    Raises:
        LinkedInConfigError: Without a client id or secret.
        LinkedInAuthError: When LinkedIn or the member refuses, or the state does not match.
    """
    client_id, client_secret = setting("client_id"), setting("client_secret")
    for name, value in (("client_id", client_id), ("client_secret", client_secret)):
        if not value or value.strip().lower().startswith(PLACEHOLDERS):
            raise LinkedInConfigError(
                f"credentials.{name}",
                "<not set>" if not value else "<a placeholder>",
                f"put your LinkedIn app's {name} in .dlt/secrets.toml under "
                "[sources.linkedin_leads.credentials] "
                f"(or SOURCES__LINKEDIN_LEADS__CREDENTIALS__{name.upper()}) first.",
            )
    assert client_id is not None and client_secret is not None
    authorization_url = setting("authorization_url", DEFAULT_AUTHORIZATION_URL) or DEFAULT_AUTHORIZATION_URL
    token_url = setting("token_url", DEFAULT_TOKEN_URL) or DEFAULT_TOKEN_URL
    redirect_uri = f"http://127.0.0.1:{port}{CALLBACK_PATH}"
    state = secrets.token_urlsafe(24)
    link = authorization_link(authorization_url, client_id, redirect_uri, state)
    loopback = Loopback(port)
    print(
        "Open this link, sign in with the member whose leads you load, and approve "
        f"(redirect {redirect_uri}):"
    )
    print(link, flush=True)
    # no browser here (a server, a container): the member opens the link elsewhere and pastes back
    if not (open_browser and webbrowser.open(link)):
        print("Or paste here the URL your browser was redirected to, then Enter:", flush=True)
        loopback.read_stdin()
    print(f"(waiting up to {WAIT_SECONDS / 60:g} minutes for LinkedIn's answer)", flush=True)
    redirected = loopback.wait()
    answer = exchange(token_url, client_id, client_secret, code_from(redirected, state), redirect_uri)
    values = {"client_id": client_id, "client_secret": client_secret}
    if answer.get("refresh_token"):
        values["refresh_token"] = str(answer["refresh_token"])
    else:  # apps not approved for refresh tokens get an access token only
        values["access_token"] = str(answer["access_token"])
    write_secrets(secrets_path, values)
    return summary(answer, secrets_path), answer


def summary(answer: Dict[str, Any], secrets_path: Path) -> str:
    """What ``auth`` wrote and when the tokens expire, never a token.

    Args:
        answer: LinkedIn's token answer.
        secrets_path: The file written.

    Returns:
        str: The lines to print.
    """
    now = time.time()

    def when(seconds: Any) -> str:
        if not isinstance(seconds, (int, float)):
            return "unknown"
        return time.strftime("%Y-%m-%d", time.gmtime(now + float(seconds)))

    lines = [f"Wrote the credentials to {secrets_path} (mode 600); no token is shown."]
    lines.append(f"The access token expires {when(answer.get('expires_in'))}.")
    if answer.get("refresh_token"):
        lines.append(
            f"The refresh token expires {when(answer.get('refresh_token_expires_in'))}: run this command "
            "again before then (every run warns from 30 days before)."
        )
    else:
        lines.append(
            "LinkedIn gave no refresh token (the app is not approved for them): the access token was written."
        )
    lines.append(f"Scopes granted: {answer.get('scope') or 'not said'}. Next: {command('check')}")
    return "\n".join(lines)
