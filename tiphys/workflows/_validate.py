"""Submit-time validation (spec §1-§4, §7; upstream ``workflow/validate/validate.go``).

Messages are upstream's, each prefixed ``invalid spec: `` as the controller writes them to
``status.message``. The first problem wins, as upstream returns the first error. Beyond upstream,
expressions in ``{{=…}}`` tags and ``retryStrategy.expression`` are compiled here, so a typo is
caught at submit instead of mid-run; MAY features Tiphys does not run are rejected by name.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from . import conditions, expr, graph, loops
from . import template as tpl
from .model import SUPPORTED_TYPES, UNSUPPORTED_TYPES, merged_template, template_type

__all__ = ["ValidationError", "validate_workflow"]

_FIELD_NAME = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")
_PARAM_NAME = re.compile(r"^[-a-zA-Z0-9_]+$")
_PREFIXES = ("item", "steps.", "inputs.", "outputs.", "pod.", "workflow.", "tasks.")
_RUNTIME_PREFIXES = ("outputs.", "workflow.creationTimestamp", "workflow.duration", "tasks.name", "steps.name",
                     "node.name", "workflow.scheduledTime")
_POLICIES = ("Always", "OnError", "OnFailure", "OnTransientError", "")
_POD_GC = ("", "OnPodCompletion", "OnPodSuccess", "OnWorkflowCompletion", "OnWorkflowSuccess")
_UNSUPPORTED_SPEC = ("workflowTemplateRef", "volumeClaimTemplates", "synchronization", "artifactRepositoryRef",
                     "artifactGC", "executorPlugins")
_RESULT_TYPES = ("container", "script")


class ValidationError(Exception):
    pass


def validate_workflow(workflow: Mapping[str, Any]) -> list[str]:
    try:
        _Validator(workflow).run()
    except ValidationError as e:
        return [f"invalid spec: {e}"]
    return []


def _field_names(items: Sequence[Any], *, params: bool) -> str | None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        name = item.get("name") if isinstance(item, Mapping) else None
        if not name:
            return f"[{i}].name is required"
        pattern = _PARAM_NAME if params else _FIELD_NAME
        if not pattern.match(str(name)) or (not params and len(str(name)) > 128):
            rule = "name must consist of alpha-numeric characters, '-' or '_'" if params else (
                "name must consist of alpha-numeric characters or '-', and must start with an alpha-numeric character")
            return f"[{i}].name: '{name}' is invalid: {rule}"
        if name in seen:
            return f"[{i}].name '{name}' is not unique"
        seen.add(str(name))
    return None


class _Validator:
    def __init__(self, workflow: Mapping[str, Any]) -> None:
        self.wf = workflow
        self.meta = workflow.get("metadata") or {}
        self.spec = workflow.get("spec") or {}
        defaults = self.spec.get("templateDefaults")
        self.templates = {
            str(t.get("name")): merged_template(t, defaults)
            for t in self.spec.get("templates") or [] if isinstance(t, Mapping)
        }
        self.globals: set[str] = set()
        self.done: set[str] = set()

    # --- workflow level -------------------------------------------------------------------------

    def run(self) -> None:
        name = str(self.meta.get("name") or "")
        if len(name) > 63:
            raise ValidationError(f'workflow name "{name}" must not be more than 63 characters long '
                                  f"(currently {len(name)})")
        for key in _UNSUPPORTED_SPEC:
            if self.spec.get(key):
                raise ValidationError(f"spec.{key} is not supported by Tiphys's workflow controller")
        if self.spec.get("suspend"):
            raise ValidationError("spec.suspend is not supported by Tiphys's workflow controller")
        err = _field_names(list(self.spec.get("templates") or []), params=False)
        if err:
            raise ValidationError(f"spec.templates{err}")
        args = (self.spec.get("arguments") or {}).get("parameters") or []
        self.arguments("spec.arguments.", args, global_args=True)
        self.global_scope(args)
        entry = self.spec.get("entrypoint")
        if not entry:
            raise ValidationError("spec.entrypoint is required")
        self.holder({"template": entry}, args)
        exit_hook = (self.spec.get("hooks") or {}).get("exit") or {}
        if self.spec.get("onExit"):
            self.globals.add("workflow.failures")
            self.holder({"template": self.spec["onExit"]}, args)
        elif exit_hook.get("template"):
            self.globals.add("workflow.failures")
            hook_args = list((exit_hook.get("arguments") or {}).get("parameters") or [])
            self.arguments("hooks.exit.arguments.", hook_args)
            self.holder({"template": exit_hook["template"]}, [*args, *hook_args])
        for hook_name, hook in (self.spec.get("hooks") or {}).items():
            if hook_name != "exit" and not (hook or {}).get("expression"):
                raise ValidationError(f"hooks.{hook_name} Expression required")
            if hook_name != "exit":
                raise ValidationError(f"hooks.{hook_name}: lifecycle hooks other than exit are not supported by "
                                      "Tiphys's workflow controller")
        strategy = (self.spec.get("podGC") or {}).get("strategy") or ""
        if strategy not in _POD_GC:
            raise ValidationError(f"podGC.strategy unknown strategy '{strategy}'")
        if self.spec.get("retryStrategy") is not None:
            self.retry_strategy(self.spec["retryStrategy"], "spec.retryStrategy")
        for tmpl_name in self.templates:
            try:
                self.template(tmpl_name, self.templates[tmpl_name], None)
            except ValidationError as e:
                raise ValidationError(f"templates.{tmpl_name} {e}") from None

    def global_scope(self, args: Sequence[Mapping[str, Any]]) -> None:
        g = self.globals
        g.update({"workflow.name", "workflow.namespace", "workflow.mainEntrypoint", "workflow.serviceAccountName",
                  "workflow.uid", "workflow.status", "workflow.labels", "workflow.labels.json",
                  "workflow.annotations", "workflow.annotations.json"})
        if args:
            g.update({"workflow.parameters", "workflow.parameters.json"})
        for arg in args:
            g.add(f"workflow.parameters.{arg.get('name')}")
        for key in self.meta.get("annotations") or {}:
            g.add(f"workflow.annotations.{key}")
        for key in self.meta.get("labels") or {}:
            g.add(f"workflow.labels.{key}")
        if self.spec.get("priority") is not None:
            g.add("workflow.priority")
        for template in self.templates.values():
            for param in (template.get("outputs") or {}).get("parameters") or []:
                if param.get("globalName"):
                    g.add(f"workflow.outputs.parameters.{param['globalName']}")

    def arguments(self, prefix: str, params: Sequence[Any], *, global_args: bool = False) -> None:
        err = _field_names(list(params), params=True)
        if err:
            raise ValidationError(f"{prefix}parameters{err}")
        for param in params:
            name = param.get("name")
            value_from = param.get("valueFrom")
            if value_from is None and param.get("value") is None:
                raise ValidationError(f"{prefix}{name}.value or {prefix}{name}.valueFrom is required")
            if value_from is not None:
                if value_from.get("configMapKeyRef") is not None:
                    raise ValidationError(f"{prefix}{name}.valueFrom.configMapKeyRef is not supported by Tiphys "
                                          "(pass the value with -p NAME=VALUE instead)")
                if value_from.get("supplied") is None and value_from.get("event") is None:
                    raise ValidationError(
                        f"{prefix}{name}.valueFrom only allows: default, configMapKeyRef and supplied"
                    )
            enum = param.get("enum")
            if enum is not None:
                if not enum:
                    raise ValidationError(f"{prefix}{name}.enum should contain at least one value")
                if param.get("value") is None:
                    raise ValidationError(f"{prefix}{name}.value is required")
                from .params import param_string

                if param_string(param["value"]) not in [param_string(e) for e in enum]:
                    raise ValidationError(f"{prefix}{name}.value should be present in {prefix}{name}.enum list")

    def retry_strategy(self, strategy: Mapping[str, Any], where: str) -> None:
        policy = strategy.get("retryPolicy") or ""
        if policy not in _POLICIES:
            raise ValidationError(f"{policy} is not a valid RetryPolicy")
        if strategy.get("expression"):
            self.expression(str(strategy["expression"]), where)
        backoff = strategy.get("backoff") or {}
        for key in ("duration", "maxDuration", "cap"):
            if backoff.get(key) not in (None, ""):
                from .model import parse_seconds

                try:
                    parse_seconds(backoff[key])
                except ValueError:
                    raise ValidationError(f"{where}.backoff.{key} {backoff[key]!r} is not a valid duration") from None

    def expression(self, source: str, where: str) -> None:
        try:
            expr.compile_expr(source)
        except expr.ExprError as e:
            raise ValidationError(f"{where}: invalid expression '{source}': {e}") from None

    def expressions_in(self, text: str, where: str) -> None:
        for tag in tpl.find_tags(text):
            inner = tag.strip()
            if inner.startswith("="):
                source = inner[1:]
                with contextlib.suppress(json.JSONDecodeError):
                    source = json.loads(f'"{source}"')
                self.expression(source, where)

    def resolve_all(self, text: str, scope: set[str]) -> None:
        """Every tag with a validated root must be in scope (upstream ``resolveAllVariables``)."""
        any_item = "item.*" in scope
        for tag in tpl.find_tags(text):
            trimmed = tag.strip()
            if trimmed.startswith("=") or not trimmed.startswith(_PREFIXES):
                continue
            if trimmed in scope or trimmed in self.globals:
                continue
            if any_item and (trimmed == "item" or trimmed.startswith("item.")):
                continue
            if trimmed.startswith(_RUNTIME_PREFIXES):
                continue
            raise ValidationError(f"failed to resolve {{{{{tag}}}}}")

    # --- templates ------------------------------------------------------------------------------

    def holder(self, holder: Mapping[str, Any], args: Sequence[Mapping[str, Any]] | None) -> dict[str, Any] | None:
        if holder.get("templateRef") is not None:
            raise ValidationError("templateRef is not supported by Tiphys's workflow controller "
                                  "(WorkflowTemplates are not installed)")
        inline = holder.get("inline")
        if inline is not None:
            template = dict(inline)
            key = f"inline:{id(inline)}"
        else:
            name = str(holder.get("template") or "")
            if name not in self.templates:
                raise ValidationError(f"template name '{name}' undefined")
            template, key = self.templates[name], name
        strategy = template.get("retryStrategy")
        if strategy is not None:
            self.retry_strategy(strategy, f"templates.{template.get('name')}.retryStrategy")
        self.template(key, template, args)
        return template

    def template(self, key: str, template: Mapping[str, Any], args: Sequence[Mapping[str, Any]] | None) -> None:
        name = template.get("name", "")
        kinds = template_type(template)
        if not kinds:
            raise ValidationError(f"templates.{name} template type unspecified. choose one of: container, "
                                  "containerSet, steps, script, resource, dag, suspend, template, template ref")
        if len(kinds) > 1:
            raise ValidationError(f"templates.{name} multiple template types specified. choose one of: container, "
                                  "containerSet, steps, script, resource, dag, suspend, template, template ref")
        kind = kinds[0]
        if kind in UNSUPPORTED_TYPES:
            raise ValidationError(f"templates.{name} unsupported template type {kind} (Tiphys runs "
                                  f"{', '.join(SUPPORTED_TYPES)} templates)")
        for field in ("memoize", "synchronization", "daemon", "podSpecPatch", "containerSet"):
            if template.get(field):
                raise ValidationError(f"templates.{name}.{field} is not supported by Tiphys's workflow controller")
        if template.get("timeout") and "{{" not in str(template["timeout"]):
            from .model import parse_seconds

            try:
                parse_seconds(template["timeout"])
            except ValueError:
                raise ValidationError(f"{name} has invalid duration format in timeout") from None
        inputs = template.get("inputs") or {}
        err = _field_names(list(inputs.get("parameters") or []), params=True)
        if err:
            raise ValidationError(f"templates.{name}.inputs.parameters{err}")
        if inputs.get("artifacts") or (template.get("outputs") or {}).get("artifacts"):
            raise ValidationError(f"templates.{name} artifacts are not supported by Tiphys's workflow controller")
        if args is not None:
            supplied = {a.get("name") for a in args if isinstance(a, Mapping)}
            for param in inputs.get("parameters") or []:
                has_value = param.get("value") is not None or param.get("default") is not None
                has_value = has_value or (param.get("valueFrom") or {}).get("default") is not None
                if not has_value and param.get("name") not in supplied:
                    raise ValidationError(f"templates.{name} inputs.parameters.{param.get('name')} was not supplied")
        if key in self.done:
            return
        self.done.add(key)
        scope = {f"inputs.parameters.{p.get('name')}" for p in inputs.get("parameters") or []}
        if inputs.get("parameters"):
            scope.add("inputs.parameters")
        if kind in ("container", "script", "resource"):
            scope.add("pod.name")
        if template.get("retryStrategy") is not None or self.spec.get("retryStrategy") is not None:
            scope.update({"retries", "lastRetry.exitCode", "lastRetry.status", "lastRetry.duration",
                          "lastRetry.message"})
        if template.get("timeout") and kind not in ("container", "script", "resource", "suspend"):
            raise ValidationError(f"{_type_word(kind)} template doesn't support timeout field")
        if kind == "steps":
            self.steps(template, scope)
        elif kind == "dag":
            self.dag(template, scope)
        else:
            self.leaf(template, kind, scope)
        self.outputs(template, kind, scope)

    def leaf(self, template: Mapping[str, Any], kind: str, scope: set[str]) -> None:
        name = template.get("name", "")
        for param in (template.get("outputs") or {}).get("parameters") or []:
            if (param.get("valueFrom") or {}).get("path"):
                scope.add(f"outputs.parameters.{param['name']}.path")
        text = json.dumps(template)
        try:
            self.resolve_all(text, scope | self.globals)
        except ValidationError as e:
            raise ValidationError(f"templates.{name}: {e}") from None
        self.expressions_in(text, f"templates.{name}")
        body = template.get(kind) or {}
        if kind in ("container", "script") and not body.get("image"):
            raise ValidationError(f"templates.{name}.{kind}.image may not be empty")
        if kind == "resource":
            action = body.get("action")
            if action not in ("get", "create", "apply", "delete", "replace", "patch"):
                raise ValidationError(f"templates.{name}.resource.action must be one of: "
                                      "get, create, apply, delete, replace, patch")
            if body.get("manifestFrom") is not None:
                raise ValidationError(f"templates.{name}.resource.manifestFrom is not supported (it needs artifacts)")
            if action not in ("delete", "get") and not body.get("manifest"):
                raise ValidationError(f"either templates.{name}.resource.manifest or templates.{name}"
                                      ".resource.manifestFrom must be specified")
            if body.get("manifest"):
                import yaml

                try:
                    list(yaml.safe_load_all(re.sub(r"\{\{.*?\}\}", "placeholder", str(body["manifest"]))))
                except yaml.YAMLError:
                    raise ValidationError(f"templates.{name}.resource.manifest must be a valid yaml") from None
        if kind == "suspend" and body.get("duration") not in (None, "") and "{{" not in str(body.get("duration")):
            from .model import parse_seconds

            try:
                parse_seconds(body["duration"])
            except ValueError:
                raise ValidationError(f"templates.{name}.suspend.duration {body['duration']!r} is invalid") from None
        deadline = template.get("activeDeadlineSeconds")
        if deadline is not None and "{{" not in str(deadline):
            try:
                ok = int(str(deadline)) >= 0
            except ValueError:
                ok = False
            if not ok:
                raise ValidationError(f"templates.{name}.activeDeadlineSeconds must be a positive integer > 0 "
                                      "or an argo variable")
        if template.get("parallelism") is not None:
            raise ValidationError(f"templates.{name}.parallelism is only valid for steps and dag templates")

    def non_leaf(self, template: Mapping[str, Any]) -> None:
        if template.get("activeDeadlineSeconds") is not None:
            raise ValidationError(f"templates.{template.get('name')}.activeDeadlineSeconds is only valid for "
                                  "leaf templates")

    def add_items(self, step: Mapping[str, Any], scope: set[str]) -> None:
        defined = sum(1 for k in ("withItems", "withParam", "withSequence") if step.get(k) not in (None, "", []))
        if defined > 1:
            raise ValidationError("only one of withItems, withParam, withSequence can be specified")
        if step.get("withItems"):
            for item in step["withItems"]:
                if isinstance(item, Mapping):
                    scope.update(f"item.{k}" for k in item)
                elif isinstance(item, list):
                    scope.update(f"item.[{i}]" for i in range(len(item)))
                else:
                    scope.add("item")
        elif step.get("withParam") not in (None, ""):
            scope.update({"item", "item.*"})
        elif step.get("withSequence") is not None:
            seq = step["withSequence"]
            if seq.get("count") is not None and seq.get("end") is not None:
                raise ValidationError("only one of count or end can be defined in withSequence")
            scope.add("item")

    def node_outputs(self, template: Mapping[str, Any] | None, prefix: str, scope: set[str], *,
                     aggregate: bool, ancestor: bool) -> None:
        scope.update({f"{prefix}.id", f"{prefix}.startedAt", f"{prefix}.finishedAt", f"{prefix}.hostNodeName"})
        if ancestor:
            scope.add(f"{prefix}.status")
        if template is None:
            return
        kind = (template_type(template) or [""])[0]
        if kind in _RESULT_TYPES:
            scope.update({f"{prefix}.outputs.result", f"{prefix}.exitCode", f"{prefix}.ip"})
        for param in (template.get("outputs") or {}).get("parameters") or []:
            scope.add(f"{prefix}.outputs.parameters.{param.get('name')}")
        if aggregate:
            scope.add(f"{prefix}.outputs.parameters")
            if kind == "script":
                scope.add(f"{prefix}.outputs.result")

    def steps(self, template: Mapping[str, Any], scope: set[str]) -> None:
        self.non_leaf(template)
        name = template.get("name", "")
        seen: set[str] = set()
        for i, group in enumerate(template.get("steps") or []):
            for step in group or []:
                step_name = step.get("name")
                where = f"templates.{name}.steps[{i}].{step_name}"
                if not step_name:
                    raise ValidationError(f"templates.{name}.steps[{i}].name is required")
                if step_name in seen:
                    raise ValidationError(f"templates.{name}.steps[{i}].name '{step_name}' is not unique")
                if not _FIELD_NAME.match(str(step_name)):
                    raise ValidationError(f"templates.{name}.steps[{i}].name '{step_name}' is invalid: name must "
                                          "consist of alpha-numeric characters or '-', and must start with an "
                                          "alpha-numeric character")
                seen.add(str(step_name))
                scope.add(f"steps.{step_name}.status")
                try:
                    self.add_items(step, scope)
                except ValidationError as e:
                    raise ValidationError(f"{where} {e}") from None
                args = list((step.get("arguments") or {}).get("parameters") or [])
                self.arguments(f"{where}.arguments.", args)
                try:
                    resolved = self.holder(step, None)
                except ValidationError as e:
                    raise ValidationError(f"{where} {e}") from None
                step_scope = set(scope)
                for param in ((step.get("inline") or {}).get("inputs") or {}).get("parameters") or []:
                    step_scope.add(f"inputs.parameters.{param.get('name')}")
                text = json.dumps({k: v for k, v in step.items() if k != "inline"})
                try:
                    self.resolve_all(text, step_scope)
                except ValidationError as e:
                    raise ValidationError(f"{where} {e}") from None
                self.expressions_in(text, where)
                self.node_outputs(resolved, f"steps.{step_name}", scope,
                                  aggregate=bool(step.get("withItems") or step.get("withParam")), ancestor=False)
                try:
                    self.holder(step, args)
                except ValidationError as e:
                    raise ValidationError(f"{where} {e}") from None
                self.exit_hook(step, where)

    def exit_hook(self, step: Mapping[str, Any], where: str) -> None:
        hook = (step.get("hooks") or {}).get("exit")
        ref = (hook or {}).get("template") or step.get("onExit")
        if ref:
            try:
                self.holder({"template": ref}, None)
            except ValidationError as e:
                raise ValidationError(f"{where} {e}") from None
        for hook_name, body in (step.get("hooks") or {}).items():
            if hook_name != "exit" and not (body or {}).get("expression"):
                raise ValidationError(f"{where}.{hook_name} Expression required")
            if hook_name != "exit":
                raise ValidationError(f"{where}.hooks.{hook_name}: lifecycle hooks other than exit are not supported "
                                      "by Tiphys's workflow controller")

    def dag(self, template: Mapping[str, Any], scope: set[str]) -> None:
        self.non_leaf(template)
        name = template.get("name", "")
        dag = template.get("dag") or {}
        tasks = list(dag.get("tasks") or [])
        if not tasks:
            raise ValidationError(f"templates.{name} must have at least one task")
        by_name = {str(t.get("name")): t for t in tasks}
        using_depends = any(t.get("depends") for t in tasks)
        try:
            graph.topological_order(tasks)
        except graph.GraphError as e:
            raise ValidationError(f"templates.{name} {e}") from None
        err = _field_names(tasks, params=False)
        if err:
            raise ValidationError(f"templates.{name}.tasks{err}")
        resolved: dict[str, Mapping[str, Any] | None] = {}
        for task in tasks:
            task_name = str(task.get("name"))
            where = f"templates.{name}.tasks.{task_name}"
            if (using_depends or task.get("dependencies")) and task_name[:1].isdigit():
                raise ValidationError(f"{where} name cannot begin with a digit when using either 'depends' or "
                                      "'dependencies'")
            if using_depends and task.get("dependencies"):
                raise ValidationError(f"templates.{name} cannot use both 'depends' and 'dependencies' in the same "
                                      "DAG template")
            if using_depends and task.get("continueOn") is not None:
                raise ValidationError(f"templates.{name} cannot use 'continueOn' when using 'depends'. Instead use "
                                      "'dep-task.Failed'/'dep-task.Errored'")
            try:
                resolved[task_name] = self.holder(task, None)
            except ValidationError as e:
                raise ValidationError(f"{where} {e}") from None
            self.node_outputs(resolved[task_name], f"tasks.{task_name}", scope,
                              aggregate=bool(task.get("withItems") or task.get("withParam")), ancestor=False)
            tree = graph.dependency_tree(task, by_name)
            for dep, result in conditions.depends_tasks(tree) if tree is not None else []:
                if result is not None and result not in conditions.DEPENDS_RESULTS:
                    raise ValidationError(f"{where} task result '{result}' for task '{dep}' is invalid")
                if result in ("AnySucceeded", "AllFailed") and not loops.has_loop(by_name[dep]):
                    raise ValidationError(f"{where} dependency '{dep}' uses an items-based condition such as "
                                          ".AnySucceeded or .AllFailed but does not contain any items")
        for target in str(dag.get("target") or "").split():
            if target not in by_name and "{{" not in target:
                raise ValidationError(f"templates.{name}.targets: target '{target}' is not defined")
        for task in tasks:
            task_name = str(task.get("name"))
            where = f"templates.{name}.tasks.{task_name}"
            task_scope = set(scope)
            ancestry = graph.ancestors(task_name, by_name)
            for ancestor in ancestry:
                looped = by_name[ancestor].get("withItems") or by_name[ancestor].get("withParam")
                self.node_outputs(resolved.get(ancestor), f"tasks.{ancestor}", task_scope,
                                  aggregate=bool(looped), ancestor=True)
            if task.get("hooks") or task.get("onExit"):
                task_scope.add(f"tasks.{task_name}.status")
            for param in ((task.get("inline") or {}).get("inputs") or {}).get("parameters") or []:
                task_scope.add(f"inputs.parameters.{param.get('name')}")
            try:
                self.add_items(task, task_scope)
            except ValidationError as e:
                raise ValidationError(f"{where} {e}") from None
            text = json.dumps({k: v for k, v in task.items() if k != "inline"})
            try:
                self.resolve_all(text, task_scope)
            except ValidationError as e:
                raise ValidationError(f"{where} {e}") from None
            self.expressions_in(text, where)
            args = list((task.get("arguments") or {}).get("parameters") or [])
            self.arguments(f"{where}.arguments.", args)
            for param in args:
                value = param.get("value")
                if isinstance(value, str) and value.startswith("{{tasks."):
                    ref = value.split(".")[1]
                    if ref not in ancestry:
                        raise ValidationError(f"{where} missing dependency '{ref}' for parameter '{param.get('name')}'")
            try:
                self.holder(task, args)
            except ValidationError as e:
                raise ValidationError(f"{where} {e}") from None
            self.exit_hook(task, where)

    def outputs(self, template: Mapping[str, Any], kind: str, scope: set[str]) -> None:
        name = template.get("name", "")
        outputs = template.get("outputs") or {}
        params = list(outputs.get("parameters") or [])
        err = _field_names(params, params=True)
        if err:
            raise ValidationError(f"templates.{name}.outputs.parameters {err}")
        try:
            self.resolve_all(json.dumps(outputs), scope | self.globals)
        except ValidationError as e:
            raise ValidationError(f"templates.{name}.outputs {e}") from None
        for param in params:
            ref = f"templates.{name}.outputs.parameters.{param.get('name')}"
            value_from = param.get("valueFrom")
            if value_from is not None and param.get("value") is not None:
                raise ValidationError(f"{ref} has both valueFrom and value specified, choose one")
            if param.get("value") is not None:
                continue
            if value_from is None:
                raise ValidationError(f"{ref} does not have valueFrom or value specified")
            kinds = [k for k in ("path", "jqFilter", "jsonPath", "parameter", "expression") if value_from.get(k)]
            if value_from.get("supplied") is not None:
                kinds.append("supplied")
            if not kinds:
                raise ValidationError("valueFrom type unspecified. choose one of: path, jqFilter, jsonPath, "
                                      "parameter, raw, expression")
            if len(kinds) > 1:
                raise ValidationError("multiple valueFrom types specified. choose one of: path, jqFilter, "
                                      "jsonPath, parameter, raw")
            if kind in ("container", "script") and not value_from.get("path"):
                raise ValidationError(f"{ref}.path must be specified for {_type_word(kind)} templates")
            if kind == "resource" and not (value_from.get("jqFilter") or value_from.get("jsonPath")):
                raise ValidationError(f"{ref} .jqFilter or jsonPath must be specified for Resource templates")
            if kind == "resource" and value_from.get("jqFilter"):
                raise ValidationError(f"{ref}.jqFilter is not supported by Tiphys (use jsonPath)")
            if kind in ("steps", "dag") and not (value_from.get("parameter") or value_from.get("expression")):
                raise ValidationError(f"{ref}.parameter or expression must be specified for {_type_word(kind)} "
                                      "templates")
            if value_from.get("expression"):
                self.expression(str(value_from["expression"]), ref)
            if value_from.get("path") and "\n" in str(value_from["path"]):
                raise ValidationError(f"{ref}.path must not contain a newline")


def _type_word(kind: str) -> str:
    return {"container": "Container", "script": "Script", "steps": "Steps", "dag": "DAG",
            "resource": "Resource"}.get(kind, kind)
