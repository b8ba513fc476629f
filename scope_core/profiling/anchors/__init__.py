"""Anchors: graded questions a new model answers so the router can place it (``scope profile``).

``shipped_anchors()`` loads the 280 multiple-choice questions shipped with the package (see
README.md beside this file for how they were chosen and their licence); ``load_anchors(path)``
reads your own; ``select_anchors`` picks diverse prompts from a larger set.
"""

from scope_core.profiling.anchors.selection import select_anchors
from scope_core.profiling.anchors.shipped import MULTIPLE_CHOICE_INSTRUCTION, Anchor, load_anchors, shipped_anchors

__all__ = ["MULTIPLE_CHOICE_INSTRUCTION", "Anchor", "load_anchors", "select_anchors", "shipped_anchors"]
