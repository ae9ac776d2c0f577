"""The virtual infrared camera: a synthetic scene with ground truth (scene.py)."""

from cameras.simulator.scene import RenderedFrame, Scene, SceneRoi

__all__ = ["RenderedFrame", "Scene", "SceneRoi"]
