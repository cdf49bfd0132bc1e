"""Pods on the embedded kubelet, end to end: created over HTTP, run for real, read back as kubectl would.

Each test uses a namespace of its own in the session cluster and bare Pods (Jobs are the Job
controller's). Commands sleep briefly at most; everything else is polled.
"""

from __future__ import annotations

import base64
import subprocess
import time
from datetime import datetime

from .helpers import MARKER_ENV, container, container_status, pod, sh, wait_for


def test_a_command_runs_to_completion_and_its_output_is_in_the_logs(pods, kubectl):
    pods.create(pod("hello", sh("echo hi")))
    done = pods.wait_phase("hello", "Succeeded", "Failed")
    assert done["status"]["phase"] == "Succeeded"
    terminated = container_status(done)["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
    assert kubectl("logs", "hello", "-n", pods.namespace) == "hi\n"
    conditions = {c["type"]: (c["status"], c.get("reason")) for c in done["status"]["conditions"]}
    assert conditions == {
        "PodReadyToStartContainers": ("False", None),
        "Initialized": ("True", "PodCompleted"),
        "Ready": ("False", "PodCompleted"),
        "ContainersReady": ("False", "PodCompleted"),
        "PodScheduled": ("True", None),
    }
    assert done["spec"]["nodeName"] == "tiphys-local"
    assert done["status"]["podIP"] == done["status"]["hostIP"] == "127.0.0.1"
    assert done["status"]["qosClass"] == "BestEffort"
    reasons = {e["reason"] for e in pods.events("hello")}
    assert {"Scheduled", "Created", "Started"} <= reasons


def test_a_failing_command_fails_the_pod_with_its_exit_code(pods):
    pods.create(pod("three", sh("echo failing >&2; exit 3")))
    done = pods.wait_phase("three", "Succeeded", "Failed")
    assert done["status"]["phase"] == "Failed"
    terminated = container_status(done)["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (3, "Error")
    assert pods.logs("three") == "failing\n"


def test_config_maps_secrets_and_the_downward_api_reach_the_process(pods):
    secret = base64.b64encode(b"s3cret").decode()
    pods.create({"metadata": {"name": "cfg"}, "data": {"greeting": "hello", "mode": "blue"}}, kind="configmaps")
    pods.create({"metadata": {"name": "sec"}, "data": {"password": secret}}, kind="secrets")
    script = (
        'echo "files: $(cat /etc/config/greeting) $(cat /creds/password) $(cat /info/name)";'
        ' echo "env: $GREETING $PASSWORD $POD_NAME $CFG_mode $EXPANDED";'
        " echo args: $0"
    )
    main = container(
        command=["sh", "-c", script, "$(GREETING)-arg"],
        env=[
            {"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "greeting"}}},
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "password"}}},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "EXPANDED", "value": "$(GREETING)/$(UNDEFINED)/$$(GREETING)"},
        ],
        envFrom=[{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
        volumeMounts=[
            {"name": "config", "mountPath": "/etc/config"},
            {"name": "creds", "mountPath": "/creds"},
            {"name": "info", "mountPath": "/info"},
        ],
    )
    volumes = [
        {"name": "config", "configMap": {"name": "cfg"}},
        {"name": "creds", "secret": {"secretName": "sec"}},
        {"name": "info", "downwardAPI": {"items": [{"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}},
    ]
    pods.create(pod("reader", main, volumes=volumes))
    assert pods.wait_phase("reader", "Succeeded", "Failed")["status"]["phase"] == "Succeeded"
    assert pods.logs("reader").splitlines() == [
        "files: hello s3cret reader",
        "env: hello s3cret reader blue hello/$(UNDEFINED)/$(GREETING)",
        "args: hello-arg",
    ]


def test_a_secret_written_with_string_data_reaches_the_process(pods):
    pods.create({"metadata": {"name": "plain"}, "stringData": {"token": "t0ken"}}, kind="secrets")
    env = [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "plain", "key": "token"}}}]
    pods.create(pod("plain", sh("echo $TOKEN", env=env)))
    assert pods.wait_phase("plain", "Succeeded", "Failed")["status"]["phase"] == "Succeeded"
    assert pods.logs("plain") == "t0ken\n"


def test_a_missing_config_map_holds_the_pod_until_it_appears(pods):
    volumes = [{"name": "late", "configMap": {"name": "late"}}]
    pods.create(
        pod("waiter", sh("cat /late/k", volumeMounts=[{"name": "late", "mountPath": "/late"}]), volumes=volumes)
    )
    wait_for(lambda: any(e["reason"] == "FailedMount" for e in pods.events("waiter")), what="a FailedMount event")
    assert pods.status("waiter")["phase"] == "Pending"
    assert container_status(pods.get("waiter"))["state"]["waiting"]["reason"] == "ContainerCreating"
    pods.create({"metadata": {"name": "late"}, "data": {"k": "arrived"}}, kind="configmaps")
    assert pods.wait_phase("waiter", "Succeeded", "Failed")["status"]["phase"] == "Succeeded"
    assert pods.logs("waiter") == "arrived\n"  # a last line without newline is a full line, as containerd writes it


def test_a_command_that_does_not_exist_fails_with_the_runtimes_message(pods):
    pods.create(pod("nope", container(command=["nope"])))
    pods.create(pod("noexec", container(command=["/etc/hostname"])))
    for name, message in (
        ("nope", 'exec: "nope": executable file not found in $PATH'),
        ("noexec", 'exec: "/etc/hostname": permission denied'),
    ):
        done = pods.wait_phase(name, "Succeeded", "Failed")
        assert done["status"]["phase"] == "Failed"
        terminated = container_status(done)["state"]["terminated"]
        assert terminated["reason"] == "StartError"
        assert terminated["exitCode"] == 128
        assert message in terminated["message"]
        assert pods.logs(name) == ""


def test_a_crashing_container_backs_off_and_its_restart_count_grows(pods, kubectl):
    pods.create(pod("crasher", sh("echo crashed; exit 1"), restart="Always"))

    def backing_off():
        status = container_status(pods.get("crasher"))
        waiting = (status.get("state") or {}).get("waiting") or {}
        return status if waiting.get("reason") == "CrashLoopBackOff" else None

    status = wait_for(backing_off, what="CrashLoopBackOff")
    assert status["restartCount"] >= 1
    assert status["lastState"]["terminated"]["exitCode"] == 1
    message = status["state"]["waiting"]["message"]
    assert message.startswith("back-off 10s restarting failed container=main pod=crasher_")
    assert pods.status("crasher")["phase"] == "Running"
    assert "CrashLoopBackOff" in kubectl("get", "pod", "crasher", "-n", pods.namespace)
    assert pods.logs("crasher") == "crashed\n"
    assert pods.logs("crasher", previous="true") == "crashed\n"


def test_a_readiness_probe_gates_ready(pods):
    probe = {"exec": {"command": ["test", "-f", "/tmp/ready"]}, "periodSeconds": 1}
    pods.create(pod("gated", sh("sleep 1.5; touch /tmp/ready; sleep 60", readinessProbe=probe), restart="Always"))

    def running_unready():
        got = pods.get("gated")
        conditions = {c["type"]: c["status"] for c in (got or {}).get("status", {}).get("conditions") or ()}
        running = (got or {}).get("status", {}).get("phase") == "Running"
        return running and conditions.get("Ready") == "False" and container_status(got)["ready"] is False

    wait_for(running_unready, what="Running but not Ready")

    def is_ready():
        conditions = {c["type"]: c["status"] for c in pods.status("gated").get("conditions") or ()}
        return conditions.get("Ready") == "True"

    wait_for(is_ready, timeout=10, what="Ready")
    assert container_status(pods.get("gated"))["ready"] is True


def test_a_failing_liveness_probe_restarts_the_container(pods):
    probe = {"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 1}
    pods.create(pod("unlively", sh("sleep 60", livenessProbe=probe), restart="Always", terminationGracePeriodSeconds=1))
    wait_for(lambda: container_status(pods.get("unlively")).get("restartCount", 0) >= 1, what="a restart")
    messages = [e["message"] for e in pods.events("unlively")]
    assert "Container main failed liveness probe, will be restarted" in messages


def test_deleting_a_running_pod_sends_sigterm_then_the_pod_disappears(pods, kubectl, cluster):
    script = "trap 'echo got SIGTERM; exit 0' TERM; echo started; while true; do sleep 0.1; done"
    pods.create(pod("trapper", sh(script), restart="Always"))
    pods.wait_phase("trapper", "Running")
    wait_for(lambda: pods.logs("trapper") == "started\n", what="the first line")
    follow = subprocess.Popen(
        ["kubectl", f"--kubeconfig={kubectl.kubeconfig}", "logs", "-f", "trapper", "-n", pods.namespace],
        stdout=subprocess.PIPE,
        text=True,
        env={"HOME": str(kubectl.home), "PATH": "/usr/bin:/bin"},
    )
    try:
        assert follow.stdout is not None
        assert follow.stdout.readline() == "started\n"  # the follower is attached
        started = time.monotonic()
        kubectl("delete", "pod", "trapper", "-n", pods.namespace)
        assert time.monotonic() - started < 10
        assert pods.get("trapper") is None
        output, _ = follow.communicate(timeout=10)
    finally:
        follow.kill()
    # The whole process group gets SIGTERM: sh reports its killed sleep ("Terminated"), then traps.
    assert output.splitlines()[-1] == "got SIGTERM"
    logs = cluster.home / "cluster" / "pod-logs"
    wait_for(lambda: not list(logs.glob(f"{pods.namespace}_trapper_*")), what="the pod's logs to go with it")


def test_deleting_a_namespace_stops_its_running_pods_and_the_namespace_goes(pods, kubectl):
    pods.create(pod("resident", sh("sleep 60"), restart="Always"))
    pods.wait_phase("resident", "Running")
    started = time.monotonic()
    kubectl("delete", "namespace", pods.namespace, "--timeout=30s")
    assert time.monotonic() - started < 15
    assert pods.client.get(f"/api/v1/namespaces/{pods.namespace}").status_code == 404


def test_active_deadline_fails_the_pod(pods):
    pods.create(pod("late", sh("sleep 60"), activeDeadlineSeconds=1))
    done = pods.wait_phase("late", "Failed")
    assert done["status"]["reason"] == "DeadlineExceeded"
    assert done["status"]["message"] == "Pod was active on the node longer than the specified deadline"
    # The phase is decided at the deadline; the container is stopped right after (SIGTERM).
    stopped = wait_for(lambda: container_status(pods.get("late"))["state"].get("terminated"), what="the stop")
    assert stopped["exitCode"] == 143


def test_init_containers_run_in_order_before_the_containers(pods):
    mounts = [{"name": "shared", "mountPath": "/shared"}]
    init = [
        container("first", ["sh", "-c", "echo one > /shared/order"], volumeMounts=mounts),
        container("second", ["sh", "-c", "echo two >> /shared/order"], volumeMounts=mounts),
    ]
    main = sh("cat /shared/order", volumeMounts=mounts)
    pods.create(pod("ordered", main, initContainers=init, volumes=[{"name": "shared", "emptyDir": {}}]))
    done = pods.wait_phase("ordered", "Succeeded", "Failed")
    assert done["status"]["phase"] == "Succeeded"
    assert pods.logs("ordered") == "one\ntwo\n"
    assert [s["state"]["terminated"]["reason"] for s in done["status"]["initContainerStatuses"]] == [
        "Completed",
        "Completed",
    ]


def test_a_sidecar_starts_before_the_containers_and_stops_when_they_are_done(pods):
    mounts = [{"name": "shared", "mountPath": "/shared"}]
    # The containers start once the sidecar counts as started: here, when its startup probe passes.
    startup = {"exec": {"command": ["test", "-f", "/shared/proxy"]}, "periodSeconds": 1}
    sidecar = container(
        "proxy",
        ["sh", "-c", "echo up > /shared/proxy; exec sleep 60"],
        restartPolicy="Always",
        volumeMounts=mounts,
        startupProbe=startup,
    )
    main = sh("cat /shared/proxy", volumeMounts=mounts)
    pods.create(pod("sidecars", main, initContainers=[sidecar], volumes=[{"name": "shared", "emptyDir": {}}]))
    done = pods.wait_phase("sidecars", "Succeeded", "Failed")
    assert done["status"]["phase"] == "Succeeded"
    assert pods.logs("sidecars") == "up\n"
    proxy = done["status"]["initContainerStatuses"][0]
    assert proxy["name"] == "proxy" and "terminated" in proxy["state"]


def test_a_failing_init_container_fails_a_never_restarting_pod(pods):
    pods.create(pod("badinit", sh("echo never"), initContainers=[container("init", ["false"])]))
    done = pods.wait_phase("badinit", "Failed")
    assert done["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 1
    assert container_status(done)["state"]["waiting"]["reason"] == "PodInitializing"


def test_a_host_path_volume_is_refused(pods):
    volumes = [{"name": "host", "hostPath": {"path": "/etc"}}]
    pods.create(pod("hostpath", sh("ls /host", volumeMounts=[{"name": "host", "mountPath": "/host"}]), volumes=volumes))
    done = pods.wait_phase("hostpath", "Failed")
    assert done["status"]["reason"] == "HostPathNotAllowed"
    assert 'hostPath volume "host" is not allowed' in done["status"]["message"]


def test_a_container_without_command_is_simulated_and_runs_until_deleted(pods):
    web = {"name": "web", "image": "nginx:1.27", "env": [{"name": MARKER_ENV, "value": "x"}]}
    pods.create(pod("web", web, restart="Always"))

    def ready():
        got = pods.get("web")
        conditions = {c["type"]: c["status"] for c in (got or {}).get("status", {}).get("conditions") or ()}
        return got if conditions.get("Ready") == "True" else None

    running = wait_for(ready, what="a ready simulated pod")
    assert running["status"]["phase"] == "Running"
    assert container_status(running, "web")["image"] == "docker.io/library/nginx:1.27"
    simulated = [e["message"] for e in pods.events("web") if e["reason"] == "Simulated"]
    assert simulated == [
        'Container web has no command, so image "nginx:1.27" is not run: the container is simulated '
        "(until it is stopped)"
    ]
    pods.delete("web")
    wait_for(lambda: pods.get("web") is None, timeout=10, what="the pod to go")


def test_a_simulated_run_to_completion_container_exits_zero(pods):
    pods.create(pod("hook", {"name": "hook", "image": "bitnami/kubectl"}))
    done = pods.wait_phase("hook", "Succeeded", "Failed")
    assert done["status"]["phase"] == "Succeeded"
    assert container_status(done, "hook")["state"]["terminated"]["exitCode"] == 0


def test_the_simulate_annotation_sets_the_exit_code_and_duration(pods):
    annotations = {"tiphys.io/simulate": "exit=1,after=1s"}
    pods.create(pod("sim", {"name": "hook", "image": "alpine"}, annotations=annotations))
    done = pods.wait_phase("sim", "Failed")
    terminated = container_status(done, "hook")["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (1, "Error")
    started, finished = (datetime.strptime(terminated[k], "%Y-%m-%dT%H:%M:%SZ") for k in ("startedAt", "finishedAt"))
    assert (finished - started).total_seconds() >= 1  # it ran for the annotation's second


def test_kubectl_in_a_pod_reaches_the_api_server_with_its_service_account(pods):
    pods.create({"metadata": {"name": "x"}, "data": {"k": "from-the-cluster"}}, kind="configmaps")
    kubectl_container = container(
        command=["kubectl", "get", "configmap", "x", "-o", "jsonpath={.data.k}"], image="bitnami/kubectl:1.31"
    )
    pods.create(pod("incluster", kubectl_container))
    done = pods.wait_phase("incluster", "Succeeded", "Failed", timeout=60)
    assert done["status"]["phase"] == "Succeeded", pods.logs("incluster")
    assert pods.logs("incluster") == "from-the-cluster\n"
