"""L0, the data contract: the YAML data dictionary, validation of a data folder, typed tables.
"""

from .checks import (
    RULES, check_rules,
)
from .dictionary import (
    COHORTS, EXTERNAL_COHORTS, SIDE_FILES, TYPES, ColumnSpec, TableSpec, dictionary_dir, load_dictionary,
    RULE_KINDS, RuleParam, RuleSpec, load_rules, describe_rule, build_schema,
)
from .load import (
    DAYS_PER_MONTH, InvalidDataError, Cohort, available_cohorts, load_cohort, canonical_order,
)
from .problems import (
    Problem, line_of,
)
from .validate import (
    ValidationReport, read_table, validate_cohort, validate_folder, cohort_path_problem,
)

__all__ = [
    'RULES', 'check_rules', 'COHORTS', 'EXTERNAL_COHORTS', 'SIDE_FILES', 'TYPES', 'ColumnSpec', 'TableSpec',
    'dictionary_dir', 'load_dictionary', 'RULE_KINDS', 'RuleParam', 'RuleSpec', 'load_rules', 'describe_rule',
    'build_schema', 'DAYS_PER_MONTH', 'InvalidDataError', 'Cohort', 'available_cohorts', 'load_cohort',
    'canonical_order', 'Problem', 'line_of', 'ValidationReport', 'read_table', 'validate_cohort',
    'validate_folder', 'cohort_path_problem',
]
