"""Rules: which socket goes where (docs/rules.md).

:func:`parse_rule` reads one rule in the user syntax (ip2unix's), :meth:`Rule.canonical`
writes the compiled form the shim reads from ``UNSOCK_RULES``, :func:`parse_rules` reads
``-r``/``-f`` sources collecting every error, :func:`rules_from_config` turns the upstream
``UNSOCK_*`` variables into rules, and :func:`match`/:func:`expand` are the reference
matcher the shim agrees with (``tests/vectors/rules.json``), and :func:`plan` the reference of
the decision core's plan for a socket call (``tests/vectors/plans.json``).
"""

from .match import expand, match, matches
from .model import (
    PATH_MAX,
    AbstractAction,
    Action,
    BlackholeAction,
    FirecrackerAction,
    IgnoreAction,
    PathAction,
    RejectAction,
    Rule,
    RuleError,
    RulesError,
    SystemdAction,
    TipcAction,
    VsockAction,
)
from .parse import compile_rules, parse_compiled, parse_rule, parse_rules, rules_from_config
from .plan import Plan, Query, plan
from .table import describe_action, format_table

__all__ = [
    "PATH_MAX",
    "AbstractAction",
    "Action",
    "BlackholeAction",
    "FirecrackerAction",
    "IgnoreAction",
    "PathAction",
    "Plan",
    "Query",
    "RejectAction",
    "Rule",
    "RuleError",
    "RulesError",
    "SystemdAction",
    "TipcAction",
    "VsockAction",
    "compile_rules",
    "describe_action",
    "expand",
    "format_table",
    "match",
    "matches",
    "parse_compiled",
    "parse_rule",
    "parse_rules",
    "plan",
    "rules_from_config",
]
