"""``scope dashboard``: the report's views as charts over time, on a local web page (loopback by default)."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from scope_core.cli.app import StoreOption, app, command, console, fail
from scope_core.cli.report import SinceOption, TagOption


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@app.command()
@command
def dashboard(
    store: StoreOption = None,
    port: Annotated[int, typer.Option(help="port on the host")] = 8750,
    host: Annotated[str, typer.Option(help="address to bind (loopback unless --expose)")] = "127.0.0.1",
    expose: Annotated[bool, typer.Option("--expose", help="allow binding an address other machines reach")] = False,
    since: SinceOption = None,
    tag: TagOption = None,
    show_texts: Annotated[bool, typer.Option("--show-texts", help="show the routing texts of recent calls")] = False,
):
    """A live page of what the router decided and saved: spend over time, traffic, accuracy, calibration."""
    import uvicorn

    from scope_core.observe.dashboard import create_app
    from scope_core.store.behaviour import BehaviourStore

    if not _loopback(host):
        if not expose:
            raise fail(f"--host {host} reaches beyond this machine: add --expose to bind it anyway")
        console.print(f"[yellow]warning:[/yellow] the dashboard is open to every machine that reaches {host}:{port}")
    web = create_app(BehaviourStore.open(store), since=since, tags=tag or (), show_texts=show_texts)
    console.print(f"dashboard at http://{host}:{port}/ (Ctrl-C stops it)")
    uvicorn.run(web, host=host, port=port, log_level="warning")
