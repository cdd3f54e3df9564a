"""Scenario files: the schema (:class:`Scenario`), loading with clear errors,
``--set`` overrides, and building the runtime objects of a run."""

from .loader import ScenarioError, load_scenario, scenario_yaml, with_overrides
from .model import MODEL_EDITIONS, Scenario

__all__ = ["MODEL_EDITIONS", "Scenario", "ScenarioError", "load_scenario", "scenario_yaml",
           "with_overrides"]
