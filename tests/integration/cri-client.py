#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# A CRI client for test-cri-containerd.sh: drives a container runtime over its CRI v1 gRPC socket
# the way the kubelet does, with only what the test needs. The CRI v1 api.proto (vendored in
# tests/integration/cri/, see its README.md) is compiled at run time with grpc_tools into a
# directory of the caller's: Debian's python3-grpcio and python3-grpc-tools are seen by
# /usr/bin/python3 only, hence the interpreter above (a python3 earlier on PATH may not see them).
#
#   cri-client.py compile OUTDIR
#   cri-client.py [-s SOCKET -m OUTDIR] version
#   cri-client.py ... up POD NAMESPACE UID CONTAINER IMAGE CGROUP-PARENT LOGDIR
#       RunPodSandbox (host network: no CNI, no hostname), CreateContainer (IMAGE's `sleep`),
#       StartContainer, ContainerStatus; prints one JSON object: pod_id, container_id, pid (the
#       host pid of the container's process) and sandbox_pid
#   cri-client.py ... down POD-ID       StopPodSandbox, RemovePodSandbox (both idempotent)
#   cri-client.py ... pods              ListPodSandbox: one id per line
# Errors: a message on stderr, exit status 1.
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.join(HERE, "cri")
TIMEOUT = 60  # seconds per call: a pod start on a loaded two-core machine takes a few

NODE = 2  # runtime.v1.NamespaceMode.NODE: the host's namespace


def compile_proto(outdir):
    from grpc_tools import protoc
    os.makedirs(outdir, exist_ok=True)
    r = protoc.main(["protoc", "-I" + PROTO_DIR, "--python_out=" + outdir,
                     "--grpc_python_out=" + outdir, os.path.join(PROTO_DIR, "api.proto")])
    if r != 0:
        sys.exit("protoc failed on %s/api.proto (status %d)" % (PROTO_DIR, r))


def connect(args):
    import grpc
    sys.path.insert(0, args.modules)
    import api_pb2
    import api_pb2_grpc
    channel = grpc.insecure_channel("unix://" + args.socket)
    return api_pb2, api_pb2_grpc.RuntimeServiceStub(channel)


def pod_config(pb, a):
    # As the kubelet writes it for a hostNetwork pod of QoS class BestEffort on the cgroupfs
    # driver: metadata, log directory, the pod's cgroup and the node's network namespace. No
    # hostname: a pod in the host network may not set one.
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=a.pod, namespace=a.namespace, uid=a.uid, attempt=0),
        log_directory=a.logdir,
        labels={"io.kubernetes.pod.name": a.pod, "io.kubernetes.pod.namespace": a.namespace,
                "io.kubernetes.pod.uid": a.uid},
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent=a.cgroup_parent,
            security_context=pb.LinuxSandboxSecurityContext(
                namespace_options=pb.NamespaceOption(network=NODE))))


def cmd_version(pb, rt, a):
    v = rt.Version(pb.VersionRequest(version="v1"), timeout=TIMEOUT)
    print(json.dumps({"runtime_name": v.runtime_name, "runtime_version": v.runtime_version,
                      "runtime_api_version": v.runtime_api_version}))


def task_pid(pb, rt, cid):
    # containerd's CRI puts the task's pid into the verbose info ("info": JSON text).
    st = rt.ContainerStatus(pb.ContainerStatusRequest(container_id=cid, verbose=True),
                            timeout=TIMEOUT)
    return json.loads(st.info["info"])["pid"]


def cmd_up(pb, rt, a):
    cfg = pod_config(pb, a)
    pod_id = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg), timeout=TIMEOUT).pod_sandbox_id
    # Printed at once: the caller can remove the pod even if a later step fails.
    print(json.dumps({"pod_id": pod_id}), file=sys.stderr, flush=True)
    ccfg = pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=a.container, attempt=0),
        image=pb.ImageSpec(image=a.image),
        command=["sleep", "3600"],
        log_path=a.container + "/0.log",
        labels={"io.kubernetes.container.name": a.container},
        linux=pb.LinuxContainerConfig(
            security_context=pb.LinuxContainerSecurityContext(
                namespace_options=pb.NamespaceOption(network=NODE))))
    cid = rt.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=pod_id, config=ccfg,
                                                       sandbox_config=cfg),
                             timeout=TIMEOUT).container_id
    rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=TIMEOUT)
    ps = rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pod_id, verbose=True),
                             timeout=TIMEOUT)
    print(json.dumps({"pod_id": pod_id, "container_id": cid, "pid": task_pid(pb, rt, cid),
                      "sandbox_pid": json.loads(ps.info["info"])["pid"]}))


def cmd_down(pb, rt, a):
    rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=a.pod_id), timeout=TIMEOUT)
    rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=a.pod_id), timeout=TIMEOUT)


def cmd_pods(pb, rt, a):
    for p in rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=TIMEOUT).items:
        print(p.id)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-s", "--socket")
    ap.add_argument("-m", "--modules", help="the directory `compile` wrote into")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("compile").add_argument("outdir")
    sub.add_parser("version")
    up = sub.add_parser("up")
    for f in ("pod", "namespace", "uid", "container", "image", "cgroup_parent", "logdir"):
        up.add_argument(f)
    sub.add_parser("down").add_argument("pod_id")
    sub.add_parser("pods")
    a = ap.parse_args()
    if a.cmd == "compile":
        return compile_proto(a.outdir)
    if not a.socket or not a.modules:
        sys.exit("%s needs --socket and --modules" % a.cmd)
    pb, rt = connect(a)
    import grpc
    try:
        {"version": cmd_version, "up": cmd_up, "down": cmd_down, "pods": cmd_pods}[a.cmd](pb, rt, a)
    except grpc.RpcError as e:
        sys.exit("%s: %s: %s" % (a.cmd, e.code().name, e.details()))


if __name__ == "__main__":
    main()
