import pytest

from tiphys.workflows import conditions, expr

ENV = {
    "inputs": {"parameters": {"x": "5", "my-p": "a"}},
    "tasks": {"gen-a": {"outputs": {"result": "[1,2,3]"}}},
    "item": {"name": "n1"},
}


@pytest.mark.parametrize(
    "source, expected",
    [
        ("1 + 1", "2"),
        ("[1, 2]", "[1,2]"),
        ("10 / 4", "2.5"),
        ("asFloat('2') * 2", "4"),
        ("7 % 3", "1"),
        ("2 ** 3", "8"),
        ("asInt(inputs.parameters.x) > 3", "true"),
        ("inputs.parameters['my-p'] == 'a'", "true"),
        ("filter(fromJSON(tasks['gen-a'].outputs.result), # > 1)", "[2,3]"),
        ("map([1, 2], # * 10)", "[10,20]"),
        ("all([1, 2], # > 0) and not any([1], # > 5)", "true"),
        ("count([1, 2, 3], # >= 2)", "2"),
        ("nil ?? 'fallback'", "fallback"),
        ("missing ?? 'fb'", "fb"),
        ("true ? 'yes' : 'no'", "yes"),
        ("'abc' matches '^a'", "true"),
        ("'abc' contains 'b' && 'abc' startsWith 'a' && 'abc' endsWith 'c'", "true"),
        ("2 in [1, 2] && !(3 in [1, 2]) && 4 not in [1]", "true"),
        ("sprig.trim('  a ') + sprig.upper('b')", "aB"),
        ("sprig.replace('-', '_', 'a-b')", "a_b"),
        ("toJson({'b': 1, 'a': [true, nil]})", '{"a":[true,null],"b":1}'),
        ("jsonpath('{\"a\": {\"b\": [4, 5]}}', '$.a.b[1]')", "5"),
        ("len('abc') + len([1]) + len({'a': 1})", "5"),
        ("string(12) + 'x'", "12x"),
        ("item.name", "n1"),
        ("1..3", "[1,2,3]"),
        ("-2 + +3", "1"),
        ("{'k': 'v'}.k", "v"),
        ("inputs?.nope?.deeper ?? 'safe'", "safe"),
    ],
)
def test_expressions_evaluate_like_expr_lang(source, expected):
    assert expr.format_value(expr.evaluate(source, ENV)) == expected


@pytest.mark.parametrize(
    "source, message",
    [
        ("1 +", "unexpected token EOF"),
        ("(1", "unexpected token EOF, expected ')'"),
        ("'a' + 1", "invalid operation: string + int"),
        ("nope.x", "nope is missing"),
        ("[1][5]", "index out of range: 5 (array length is 1)"),
        ("1 && true", "expected bool, but got int"),
        ("asInt('x')", 'strconv.Atoi: parsing "x": invalid syntax'),
    ],
)
def test_expression_errors_name_the_problem(source, message):
    with pytest.raises(expr.ExprError) as e:
        expr.evaluate(source, ENV)
    assert str(e.value).startswith(message)


@pytest.mark.parametrize(
    "resolved, expected",
    [
        ("heads == heads", True),
        ("heads == tails", False),
        ("'my-value' == 'my-value'", True),
        ("7 > 5", True),
        ("7 < 5 || 1 == 1", True),
        ("!(1 == 1)", False),
        ("abc =~ '^a'", True),
        ("abc !~ '^a'", False),
        ("b in (a, b)", True),
        ("true", True),
        ("false && true", False),
        ("2.5 >= 2", True),
    ],
)
def test_when_uses_govaluate_with_bare_identifiers_as_strings(resolved, expected):
    assert conditions.evaluate_when(resolved) is expected


@pytest.mark.parametrize(
    "resolved, message",
    [
        ("heads ==", "Invalid 'when' expression 'heads ==': Unexpected end of expression"),
        ("my-value == x", "Invalid 'when' expression 'my-value == x': Value 'my' cannot be used with the modifier '-', "
                          "it is not a number"),
        ("5", "Expected boolean evaluation for '5'. Got 5"),
    ],
)
def test_when_errors_are_upstream_messages(resolved, message):
    with pytest.raises(conditions.WhenError) as e:
        conditions.evaluate_when(resolved)
    assert str(e.value) == message


def results(**phases):
    out = {}
    for task, phase in phases.items():
        out[task] = {r: r == phase or (r == "Errored" and phase == "Error") for r in conditions.DEPENDS_RESULTS}
    return out


@pytest.mark.parametrize(
    "depends, phases, expected",
    [
        ("A", {"A": "Succeeded"}, True),
        ("A", {"A": "Skipped"}, True),
        ("A", {"A": "Failed"}, False),
        ("A.Failed", {"A": "Failed"}, True),
        ("A.Errored || A.Failed", {"A": "Error"}, True),
        ("task-1 && !task-2.Succeeded", {"task-1": "Succeeded", "task-2": "Failed"}, True),
        ("(A || B) && C.Omitted", {"A": "Failed", "B": "Succeeded", "C": "Omitted"}, True),
    ],
)
def test_depends_logic(depends, phases, expected):
    tree = conditions.parse_depends(depends)
    assert conditions.evaluate_depends(tree, results(**phases)) is expected


def test_depends_names_its_tasks():
    tree = conditions.parse_depends("a-b.Succeeded && (c || !d.Failed)")
    assert conditions.depends_tasks(tree) == [("a-b", "Succeeded"), ("c", None), ("d", "Failed")]
    with pytest.raises(ValueError, match="invalid depends expression"):
        conditions.parse_depends("A &&")
