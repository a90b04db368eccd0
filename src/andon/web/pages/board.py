"""The console's home: the andon board, one light per station and the worst of them.

Listed in :data:`andon.web.routes.PAGES`, the console's one route table.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from andon.board import service as board
from andon.core.context import Context
from andon.web.shared import signed_in_page

router = APIRouter(include_in_schema=False)


@router.get("/")
def board_page(request: Request) -> Response:
    """Every station's light the principal may read, and the line's overall state."""

    def load(ctx: Context) -> dict[str, Any]:
        lights = board.board(ctx)
        return {"lights": lights, "overall": board.worst(lights)}

    return signed_in_page(request, "board.html", "board", load)
