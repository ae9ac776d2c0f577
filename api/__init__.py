"""FastAPI service and the control-room page (see issue 5)."""
