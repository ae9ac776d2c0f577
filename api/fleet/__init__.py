"""The province page's web service (``floorwatch fleet serve``): every center on one screen."""
