#!/usr/bin/python3
"""Checks the Kubernetes manifests beside this file (make k8s-check).

Parses every YAML document (python3-yaml), then checks what the deployment relies
on: a ReadWriteMany claim, a ConfigMap whose config.toml uses only keys that
config.example.toml defines, N>1 non-root replicas with requests and limits,
exec probes running `dropscribe health`, a grace period longer than the daemon's
shutdown grace, and names that refer to each other. No cluster is needed.
"""
import pathlib
import sys
import tomllib

import yaml

here = pathlib.Path(__file__).resolve().parent
repo = here.parent.parent
problems = []


def check(ok, message):
    if not ok:
        problems.append(message)


def flatten(table, prefix=""):
    keys = set()
    for k, v in table.items():
        if isinstance(v, dict):
            keys |= flatten(v, prefix + k + ".")
        else:
            keys.add(prefix + k)
    return keys


docs = {}
for path in sorted(here.glob("*.yaml")):
    try:
        loaded = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except yaml.YAMLError as e:
        problems.append(f"{path.name}: not valid YAML: {e}")
        continue
    for d in loaded:
        check(isinstance(d, dict) and "kind" in d and "apiVersion" in d, f"{path.name}: a document without kind/apiVersion")
        if isinstance(d, dict) and "kind" in d:
            docs.setdefault(d["kind"], []).append((path.name, d))

kustomization = docs.get("Kustomization", [])
if kustomization:
    listed = set(kustomization[0][1].get("resources", []))
    present = {p.name for p in here.glob("*.yaml")} - {"kustomization.yaml"}
    check(listed == present, f"kustomization.yaml lists {sorted(listed)}, the folder has {sorted(present)}")

pvcs = {d["metadata"]["name"]: d for _, d in docs.get("PersistentVolumeClaim", [])}
configmaps = {d["metadata"]["name"]: d for _, d in docs.get("ConfigMap", [])}
deployments = [d for _, d in docs.get("Deployment", [])]
check(len(pvcs) == 1 and len(configmaps) == 1 and len(deployments) == 1,
      f"expected one PVC, ConfigMap and Deployment, found {len(pvcs)}, {len(configmaps)}, {len(deployments)}")
for name, pvc in pvcs.items():
    check("ReadWriteMany" in pvc["spec"].get("accessModes", []), f"PVC {name}: the shared inbox needs ReadWriteMany")

known = flatten(tomllib.loads((repo / "config.example.toml").read_text()))
config = {}
for name, cm in configmaps.items():
    text = cm.get("data", {}).get("config.toml")
    check(text is not None, f"ConfigMap {name}: no config.toml")
    if text is None:
        continue
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        problems.append(f"ConfigMap {name}: config.toml is not valid TOML: {e}")
        continue
    unknown = flatten(config) - known
    check(not unknown, f"ConfigMap {name}: keys not in config.example.toml: {sorted(unknown)}")
    check(config.get("health_file"), f"ConfigMap {name}: health_file must be set for the probes")

for dep in deployments:
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    check(spec.get("replicas", 1) >= 2, "Deployment: run several replicas")
    check(spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items(),
          "Deployment: selector does not match the pod labels")
    sc = pod.get("securityContext", {})
    check(sc.get("runAsNonRoot") is True and sc.get("runAsUser", 0) != 0, "Deployment: pods must run as non-root")
    grace = config.get("queue", {}).get("shutdown_grace_seconds", 30)
    check(pod.get("terminationGracePeriodSeconds", 30) > grace,
          f"terminationGracePeriodSeconds must exceed queue.shutdown_grace_seconds ({grace})")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for v in volumes.values():
        if "persistentVolumeClaim" in v:
            check(v["persistentVolumeClaim"]["claimName"] in pvcs, f"volume {v['name']}: no such PVC")
        if "configMap" in v:
            check(v["configMap"]["name"] in configmaps, f"volume {v['name']}: no such ConfigMap")
    for c in pod.get("initContainers", []) + pod["containers"]:
        res = c.get("resources", {})
        check(res.get("requests") and res.get("limits"), f"container {c['name']}: needs resource requests and limits")
        csc = c.get("securityContext", {})
        check(csc.get("allowPrivilegeEscalation") is False, f"container {c['name']}: allowPrivilegeEscalation: false")
        for m in c.get("volumeMounts", []):
            check(m["name"] in volumes, f"container {c['name']}: mounts unknown volume {m['name']}")
    main = next((c for c in pod["containers"] if c["name"] == "dropscribe"), None)
    check(main is not None, "Deployment: no container named dropscribe")
    if main:
        for probe in ("livenessProbe", "readinessProbe"):
            cmd = main.get(probe, {}).get("exec", {}).get("command", [])
            check(cmd[:2] == ["dropscribe", "health"], f"{probe}: must exec `dropscribe health`, not {cmd}")
        mounts = {m["mountPath"] for m in main.get("volumeMounts", [])}
        for key in ("health_file", "metrics_file"):
            if config.get(key):
                folder = str(pathlib.PurePosixPath(config[key]).parent)
                check(folder in mounts, f"{key} {config[key]}: its folder is not a writable mount")
        inbox = config.get("inbox", "")
        check(any(inbox.startswith(m + "/") for m in mounts), f"inbox {inbox} is not on a mounted volume")
        # Replicas resume each other's jobs only under one shared journal key, outside the inbox.
        key = config.get("journal", {}).get("key_file", "")
        check(key.startswith("/"), "journal.key_file must be an absolute path shared by the replicas (a Secret)")
        check(key and not key.startswith(str(pathlib.PurePosixPath(inbox).parent) + "/"),
              f"journal.key_file {key} must be outside the shared volume of the inbox")
        check(any(key.startswith(m + "/") for m in mounts), f"journal.key_file {key} is not on a mounted volume")
        check(any("secret" in v for v in volumes.values()), "the journal key must come from a Secret volume")

if problems:
    for p in problems:
        print("k8s-check:", p, file=sys.stderr)
    sys.exit(1)
kinds = ", ".join(f"{k} x{len(v)}" for k, v in sorted(docs.items()))
print(f"k8s-check: {len(list(here.glob('*.yaml')))} files parsed ({kinds}); all checks passed")
