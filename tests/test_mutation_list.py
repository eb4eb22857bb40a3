"""`make mutation`'s list cannot rot silently: every fault still applies to the code exactly once, names tests
that exist, and is named once. (Whether each fault is killed is `make mutation`'s job: it runs for minutes.)"""

from __future__ import annotations

import ast
from pathlib import Path

from scripts.mutation import FAULTS, ROOT, check_patches


def test_every_fault_applies_exactly_once() -> None:
    assert check_patches(FAULTS) == []


def test_every_fault_names_tests_that_exist_and_a_name_of_its_own() -> None:
    names = [fault.name for fault in FAULTS]
    assert len(names) == len(set(names))
    for fault in FAULTS:
        for target in (t for t in fault.tests if t != "-k"):
            if (
                target in fault.tests[fault.tests.index("-k") + 1 : fault.tests.index("-k") + 2]
                if "-k" in fault.tests
                else ()
            ):
                continue  # a -k expression, not a path
            path, _, node = target.partition("::")
            assert (ROOT / path).is_file(), (fault.name, path)
            if node:
                function = node.split("::", 1)[0].split("[", 1)[0]  # a test function, or a test class
                defined = {
                    n.name
                    for n in ast.walk(ast.parse((ROOT / path).read_text()))
                    if isinstance(n, ast.FunctionDef | ast.ClassDef)
                }
                assert function in defined, (fault.name, target)


def test_the_list_covers_every_layer() -> None:
    files = {Path(fault.path).parts[0] for fault in FAULTS}
    assert {"ingestion", "models", "macros", "runner", "simulator"} <= files
