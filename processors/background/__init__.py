"""The background agent: delegated tasks in, results back into the conversation."""

from processors.background.agent import BackgroundAgent
from processors.background.tools import Calculator, FaqSearch, SessionFacts, ToolError

__all__ = ["BackgroundAgent", "Calculator", "FaqSearch", "SessionFacts", "ToolError"]
