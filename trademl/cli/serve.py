"""``trademl serve --model NAME@ALIAS``: a registered model over HTTP; ``--replay FILE`` streams
recorded candles through a running service."""

from __future__ import annotations

from pathlib import Path

import typer

from trademl.cli._console import console, fail

__all__ = ["register", "serve_command"]


def serve_command(
    model: str | None = typer.Option(
        None, "--model", "-m", help="NAME@ALIAS (followed: hot swap) or NAME/VERSION."
    ),
    challenger: str | None = typer.Option(
        None, "--challenger", help="A second model for canary or shadow traffic."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", "-p", help="Port to listen on."),
    warmup: list[str] = typer.Option(
        [],
        "--warmup",
        help="History to warm up from: FILE or SYMBOL=FILE (repeatable). "
        "Default: the registered run's data.",
    ),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow store URI."),
    db: str | None = typer.Option(
        None, "--db", help="Monitoring store (default: ./trademl_monitor.db)."
    ),
    no_log: bool = typer.Option(False, "--no-log", help="Do not log predictions to the store."),
    poll: float = typer.Option(
        30.0, "--poll", help="Seconds between registry checks for a new champion (0: never)."
    ),
    protect: bool = typer.Option(
        False, "--protect-predictions", help="Prediction endpoints need the API key too."
    ),
    allow_unservable: bool = typer.Option(
        False,
        "--allow-unservable",
        help="Serve a model whose features cannot be computed exactly bar by bar.",
    ),
    all_features: bool = typer.Option(
        False,
        "--all-features",
        help="Compute every feature column bar by bar, not only those the model reads.",
    ),
    max_history: int = typer.Option(20_000, "--max-history", help="Bars kept per symbol."),
    replay: Path | None = typer.Option(
        None, "--replay", help="Stream this candles file through the service at --url."
    ),
    speed: float = typer.Option(
        0.0, "--speed", help="Replay: N x real time (0: as fast as it answers)."
    ),
    url: str | None = typer.Option(
        None, "--url", help="Replay: the service (default: http://HOST:PORT)."
    ),
    symbol: str | None = typer.Option(None, "--symbol", help="Replay: which symbol the file is."),
) -> None:
    """Serve a registered model: POST /v1/bars and /v1/predict, /metrics, /dashboard."""
    import os

    from trademl.serving.service import API_KEY_ENV

    if replay is not None:
        from trademl.serving.replay import replay_file

        stats = replay_file(
            url or f"http://{host}:{port}", replay, symbol=symbol, speed=speed,
            api_key=os.environ.get(API_KEY_ENV),
        )  # fmt: skip
        console.print(stats.summary(), highlight=False, soft_wrap=True)
        if stats.sent and not stats.answered:
            raise typer.Exit(1)
        return
    if model is None:
        raise fail("--model: say which model to serve (NAME@ALIAS or NAME/VERSION)")
    if not 0 < port < 65536:
        raise fail(f"--port: expected 1-65535, got {port}")
    if max_history < 100:
        raise fail(f"--max-history: expected at least 100 bars, got {max_history}")
    if poll < 0:
        raise fail(f"--poll: expected 0 (never) or more seconds, got {poll}")
    from trademl.serving.service import build_service, run_service

    service = build_service(
        model, challenger=challenger, warmup=warmup, tracking_uri=tracking_uri, db=db,
        log_predictions=not no_log, allow_unservable=allow_unservable, max_history=max_history,
        protect_predictions=protect, poll_seconds=poll, all_features=all_features,
    )  # fmt: skip
    routing = service.deployment.routing
    other = f", challenger {routing.challenger.label}" if routing.challenger else ""
    keyed = (
        "admin API key set"
        if os.environ.get(API_KEY_ENV)
        else f"admin endpoints off (no ${API_KEY_ENV})"
    )
    symbols = ", ".join(f"{s} ({len(h):,} bars)" for s, h in service.deployment.histories.items())
    console.print(
        f"serving {routing.champion.label}{other} on http://{host}:{port} — warm: {symbols}; "
        f"{keyed}; dashboard http://{host}:{port}/dashboard",
        highlight=False, soft_wrap=True,
    )  # fmt: skip
    run_service(service, host=host, port=port)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
