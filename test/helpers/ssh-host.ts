/**
 * A stand-in for "a server you already have" (issue 20), for the real-engine suites: a network namespace of its
 * own joined to this machine by a veth pair, in which a second dockerd and an sshd run. It is reachable only
 * over SSH, as `user@address`, with a host key made here (so a test can pin it, or pin a wrong one) and a key
 * pair made here for public-key login. Next to it, in this machine's namespace on the veth's own address, a
 * registry (Debian's `docker-registry`) with htpasswd auth and TLS from a CA made here: the stand-in's dockerd
 * trusts that CA, and so does this machine's daemon for that one address, so a test can push here and pull
 * there. The registry is outside the stand-in because a real registry (GHCR, Docker Hub) is not on the server.
 * Needs root (namespaces, mounts, a daemon): the suites run as root in CI.
 */

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./pulumi.js";
import { run, tail } from "./run.js";

/** The login on the stand-in; a member of the group its Docker socket belongs to, and nothing else. */
const SSH_USER = "deploy";
/** Ids only the stand-in's own /etc/passwd and /etc/group hold (the machine's are never changed). */
const SSH_UID = 64_120;
const DOCKER_GID = 64_121;
const REGISTRY_PORT = 5443;
const REGISTRY_USER = "pusher";
const INSIDE_SCRIPT = join(ROOT, "test/helpers/ssh-host-inside.sh");
/** Where this machine's dockerd reads a registry's CA (per host:port, read on each connection). */
const MAIN_DAEMON_CERTS = "/etc/docker/certs.d";

export interface SshHost {
  /** The network namespace (`ip netns`) the stand-in's processes run in. */
  readonly namespace: string;
  /** Where its keys, configs, logs and data are; every one of its processes names it in its arguments. */
  readonly stateDir: string;
  /** The stand-in's address; sshd listens on port 22 there, and its containers' published ports answer there. */
  readonly address: string;
  readonly user: string;
  /** `user@address`, as the stack config `sshHost` takes it. */
  readonly sshHost: string;
  /** The client key the stand-in accepts (OpenSSH format, mode 600). */
  readonly privateKeyPath: string;
  /** The host's public key as a known_hosts line, `address ssh-ed25519 AAAA…`: what `sshKnownHosts` pins. */
  readonly knownHostsLine: string;
  /** A known_hosts file holding only `knownHostsLine`. */
  readonly knownHostsPath: string;
  /** `ssh://user@address`, for `docker -H` or the Docker provider's `host`. */
  readonly dockerHost: string;
  /**
   * An environment for `docker -H ssh://…` and `ssh` from this machine: PATH starts with an `ssh` that uses
   * only this host's key, known_hosts and strict host key checking (the Docker CLI has no flag for them).
   */
  readonly clientEnv: NodeJS.ProcessEnv;
  readonly registry: {
    /** `address:port`, the prefix of the images pushed there. */
    readonly server: string;
    readonly username: string;
    readonly password: string;
    /** The CA that signed the registry's certificate (PEM). */
    readonly caPath: string;
  };
  /** Seconds `sshHost()` took. */
  readonly startSeconds: number;
  /** Removes everything the stand-in made on this machine; safe to call twice, and after a failed start. */
  stop(): Promise<void>;
}

async function mustRun(command: string, ...args: string[]): Promise<string> {
  const result = await run(command, args);
  if (result.code !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${tail(result, 8)}`);
  return result.stdout;
}

async function until(
  what: string,
  seconds: number,
  ready: () => Promise<boolean>,
  log?: string,
): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await ready()) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const logTail =
    log === undefined
      ? ""
      : `; its log ends:\n${(await readFile(log, "utf8").catch(() => "")).split("\n").slice(-15).join("\n")}`;
  throw new Error(`${what} was not ready after ${seconds} s${logTail}`);
}

function tcpAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Starts a process that outlives this call, its output in `log`; returns its pid. */
function startDetached(command: string, args: string[], log: string): number {
  const fd = openSync(log, "a");
  try {
    const child = spawn(command, args, { detached: true, stdio: ["ignore", fd, fd] });
    child.unref();
    if (child.pid === undefined) throw new Error(`${command} did not start`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, up to `seconds` to exit, then SIGKILL. Only pids this helper started or found in its namespace. */
async function terminate(pids: number[], seconds: number): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // Already gone.
    }
  }
  const deadline = Date.now() + seconds * 1000;
  while (pids.some(isAlive) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));
  for (const pid of pids.filter(isAlive)) process.kill(pid, "SIGKILL");
}

/** The roots of this machine's cgroup hierarchies (v1: one per controller; v2: one), as mounted. */
async function cgroupMounts(): Promise<{ type: string; path: string; options: string }[]> {
  return (await readFile("/proc/self/mounts", "utf8"))
    .split("\n")
    .map((line) => line.split(" "))
    .filter(
      ([, path, type]) => (type === "cgroup" || type === "cgroup2") && path?.startsWith("/sys/fs/cgroup"),
    )
    .map(([, path = "", type = "", options = ""]) => ({ type, path, options }));
}

/** Every pid in the cgroup `parent` and below, in any hierarchy: the stand-in's containers. */
async function pidsInCgroup(parent: string): Promise<number[]> {
  const walk = async (dir: string): Promise<number[]> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    const own = (await readFile(join(dir, "cgroup.procs"), "utf8").catch(() => ""))
      .split("\n")
      .filter(Boolean)
      .map(Number);
    const children = await Promise.all(
      entries.filter((e) => e.isDirectory()).map((e) => walk(join(dir, e.name))),
    );
    return [...own, ...children.flat()];
  };
  const perHierarchy = await Promise.all((await cgroupMounts()).map(({ path }) => walk(join(path, parent))));
  return [...new Set(perHierarchy.flat())];
}

/** Removes the cgroup `parent` (its children first) from every hierarchy: rmdir is how an empty cgroup goes. */
async function removeCgroups(parent: string): Promise<void> {
  const removeTree = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.filter((e) => e.isDirectory())) await removeTree(join(dir, entry.name));
    await rmdir(dir).catch(() => undefined);
  };
  for (const { path } of await cgroupMounts()) await removeTree(join(path, parent));
}

/** A new stand-in; its names and addresses derive from this process, so two suites never collide. */
export async function sshHost(): Promise<SshHost> {
  if (process.getuid?.() !== 0)
    throw new Error("the SSH host stand-in needs root (namespaces, mounts, a dockerd)");
  const started = performance.now();
  const id = process.pid % 100_000;
  const namespace = `ssh-host-${id}`;
  const hostSide = `shh${id}`;
  const hostedSide = `shn${id}`;
  const cgroupParent = `ssh-host-${id}`;
  // A /30 of its own in 10.214.0.0/16, a range nothing on this machine uses (lan-neighbour takes 10.213/16).
  const base = (id % 16_384) * 4;
  const prefix = `10.214.${Math.floor(base / 256)}`;
  const hostAddress = `${prefix}.${(base % 256) + 1}`;
  const address = `${prefix}.${(base % 256) + 2}`;
  const registryServer = `${hostAddress}:${REGISTRY_PORT}`;
  const mainDaemonCa = join(MAIN_DAEMON_CERTS, registryServer);

  const state = await mkdtemp(join(tmpdir(), "ssh-host-"));
  let registryPid: number | undefined;
  let insidePid: number | undefined;
  // What this call made outside its state dir: stop() undoes only that, never what another run holds under
  // the same name (a start that failed because a name was taken must not delete the other's).
  const made = { mainDaemonCa: false, namespace: false, link: false };
  let stopping: Promise<void> | undefined;

  const stopOnce = async (): Promise<void> => {
    if (insidePid !== undefined) {
      const socket = join(state, "docker/docker.sock");
      // Containers first, at once: dockerd's own shutdown would wait out each one's stop timeout.
      const ids = await run("docker", ["-H", `unix://${socket}`, "ps", "-aq"]);
      if (ids.code === 0 && ids.stdout.trim() !== "") {
        await run("docker", ["-H", `unix://${socket}`, "rm", "-f", ...ids.stdout.trim().split("\n")]);
      }
      const dockerdPid = Number(
        (await readFile(join(state, "docker/dockerd.pid"), "utf8").catch(() => "")) || 0,
      );
      if (dockerdPid > 0) await terminate([dockerdPid], 20);
      // What is left in the namespace (sshd, containerd and its shims, the inside script), then any container
      // process a dead dockerd left behind in the stand-in's cgroups.
      const inNamespace = await run("ip", ["netns", "pids", namespace]);
      const leftovers =
        inNamespace.code === 0 ? inNamespace.stdout.split("\n").filter(Boolean).map(Number) : [];
      await terminate([...leftovers, insidePid], 10);
      await terminate(await pidsInCgroup(cgroupParent), 5);
      await removeCgroups(cgroupParent);
    }
    if (registryPid !== undefined) await terminate([registryPid], 10);
    if (made.namespace) await run("ip", ["netns", "delete", namespace]);
    // Gone with the namespace (its peer was in it); deleted here too in case the start stopped halfway.
    if (made.link) await run("ip", ["link", "delete", hostSide]);
    if (made.mainDaemonCa) {
      await rm(mainDaemonCa, { recursive: true, force: true });
      await rmdir(MAIN_DAEMON_CERTS).catch(() => undefined); // only if nothing else is in it
    }
    await rm(state, { recursive: true, force: true });
  };
  const stop = (): Promise<void> => {
    stopping ??= stopOnce();
    return stopping;
  };

  try {
    const dir = (...parts: string[]) => join(state, ...parts);
    // The SSH user's home is below the state dir: it may pass through, not list.
    await chmod(state, 0o711);
    for (const sub of ["etc-docker", "docker", "ssh", "client/bin", "registry/data", "ca", "home"]) {
      await mkdir(dir(sub), { recursive: true, mode: 0o700 });
    }
    await writeFile(dir("cgroup-parent"), cgroupParent);
    const hierarchies = await cgroupMounts();
    await writeFile(
      dir("cgroup-mounts"),
      hierarchies.map((h) => `${h.type} ${h.path} ${h.options}\n`).join(""),
    );

    // Keys: the host's, and the client's that the host accepts.
    const newKeyPair = (path: string, comment: string) =>
      mustRun("ssh-keygen", ...["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]);
    await newKeyPair(dir("ssh/host_key"), `${namespace} host`);
    await newKeyPair(dir("client/id_ed25519"), `${namespace} client`);
    const hostPublicKey = (await readFile(dir("ssh/host_key.pub"), "utf8"))
      .trim()
      .split(" ")
      .slice(0, 2)
      .join(" ");
    const knownHostsLine = `${address} ${hostPublicKey}`;
    await writeFile(dir("client/known_hosts"), `${knownHostsLine}\n`);

    // The user and the socket's group, in the stand-in's own copies of the machine's account files. Its
    // authorized_keys is in its home, where sshd's StrictModes stops checking parents (/tmp is world-writable).
    await mkdir(dir("home/.ssh"), { mode: 0o700 });
    await writeFile(dir("home/.ssh/authorized_keys"), await readFile(dir("client/id_ed25519.pub")), {
      mode: 0o600,
    });
    for (const path of [dir("home"), dir("home/.ssh"), dir("home/.ssh/authorized_keys")]) {
      await chown(path, SSH_UID, DOCKER_GID);
    }
    const passwd = await readFile("/etc/passwd", "utf8");
    const group = await readFile("/etc/group", "utf8");
    // "*": no password can ever match, yet the account is not locked, so a key still logs in.
    await writeFile(
      dir("passwd"),
      `${passwd.trimEnd()}\n${SSH_USER}:*:${SSH_UID}:${DOCKER_GID}::${dir("home")}:/bin/sh\n`,
      { mode: 0o644 },
    );
    await writeFile(dir("group"), `${group.trimEnd()}\nssh-host-docker:x:${DOCKER_GID}:${SSH_USER}\n`, {
      mode: 0o644,
    });
    await writeFile(
      dir("ssh/sshd_config"),
      [
        `ListenAddress ${address}:22`,
        `HostKey ${dir("ssh/host_key")}`,
        `PidFile ${dir("ssh/sshd.pid")}`,
        "AuthenticationMethods publickey",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin no",
        `AllowUsers ${SSH_USER}`,
        "UsePAM no",
        // `docker -H ssh://` and the Docker provider run `docker system dial-stdio`: no forwarding is needed.
        "AllowTcpForwarding no",
        "AllowAgentForwarding no",
        "AllowStreamLocalForwarding no",
        "X11Forwarding no",
        "PermitTunnel no",
        "PrintMotd no",
        "",
      ].join("\n"),
    );
    await writeFile(
      dir("client/ssh_config"),
      [
        `Host ${address}`,
        `  User ${SSH_USER}`,
        `  IdentityFile ${dir("client/id_ed25519")}`,
        "  IdentitiesOnly yes",
        `  UserKnownHostsFile ${dir("client/known_hosts")}`,
        "  GlobalKnownHostsFile /dev/null",
        "  StrictHostKeyChecking yes",
        "  BatchMode yes",
        "",
      ].join("\n"),
    );
    await writeFile(
      dir("client/bin/ssh"),
      `#!/bin/sh\nexec /usr/bin/ssh -F '${dir("client/ssh_config")}' "$@"\n`,
      { mode: 0o755 },
    );

    // The CA, and the registry's certificate for its address, signed by it.
    const ca = dir("ca/ca.crt");
    const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    await mustRun(
      "openssl",
      ...["req", "-x509", ...newKey, "-keyout", dir("ca/ca.key"), "-out", ca],
      ...["-days", "2", "-subj", `/CN=${namespace} test CA`],
    );
    await mustRun(
      "openssl",
      ...["req", "-new", ...newKey, "-keyout", dir("registry/tls.key"), "-out", dir("registry/tls.csr")],
      ...["-subj", `/CN=${hostAddress}`],
    );
    await writeFile(
      dir("registry/tls.ext"),
      `subjectAltName=IP:${hostAddress}\nextendedKeyUsage=serverAuth\n`,
    );
    await mustRun(
      "openssl",
      ...[
        "x509",
        "-req",
        "-in",
        dir("registry/tls.csr"),
        "-CA",
        ca,
        "-CAkey",
        dir("ca/ca.key"),
        "-CAcreateserial",
      ],
      ...["-days", "2", "-extfile", dir("registry/tls.ext"), "-out", dir("registry/tls.crt")],
    );
    await mkdir(dir("etc-docker/certs.d", registryServer), { recursive: true });
    await writeFile(dir("etc-docker/certs.d", registryServer, "ca.crt"), await readFile(ca));
    if (existsSync(mainDaemonCa))
      throw new Error(`${mainDaemonCa} exists: is another stand-in on that address?`);
    await mkdir(mainDaemonCa, { recursive: true });
    made.mainDaemonCa = true;
    await writeFile(join(mainDaemonCa, "ca.crt"), await readFile(ca));

    // The registry: bcrypt htpasswd (the only hash it accepts), and a password made for this run, given on
    // stdin rather than in arguments any process on the machine can read.
    const registryPassword = randomBytes(18).toString("base64url");
    const hashed = await run("htpasswd", ["-niB", REGISTRY_USER], { input: registryPassword });
    if (hashed.code !== 0) throw new Error(`htpasswd failed: ${tail(hashed, 5)}`);
    await writeFile(dir("registry/htpasswd"), hashed.stdout);
    await writeFile(
      dir("registry/config.yml"),
      [
        "version: 0.1",
        "log:",
        "  level: warn",
        "storage:",
        "  filesystem:",
        `    rootdirectory: ${dir("registry/data")}`,
        "http:",
        `  addr: ${registryServer}`,
        `  secret: ${randomBytes(18).toString("base64url")}`,
        "  tls:",
        `    certificate: ${dir("registry/tls.crt")}`,
        `    key: ${dir("registry/tls.key")}`,
        "auth:",
        "  htpasswd:",
        `    realm: ${namespace}`,
        `    path: ${dir("registry/htpasswd")}`,
        "",
      ].join("\n"),
    );

    // The link, then the namespace's processes.
    await mustRun("ip", "netns", "add", namespace);
    made.namespace = true;
    await mustRun("ip", "link", "add", hostSide, "type", "veth", "peer", "name", hostedSide);
    made.link = true;
    await mustRun("ip", "link", "set", hostedSide, "netns", namespace);
    await mustRun("ip", "address", "add", `${hostAddress}/30`, "dev", hostSide);
    await mustRun("ip", "link", "set", hostSide, "up");
    const inside = (...args: string[]) => mustRun("ip", "netns", "exec", namespace, ...args);
    await inside("ip", "address", "add", `${address}/30`, "dev", hostedSide);
    await inside("ip", "link", "set", hostedSide, "up");
    await inside("ip", "link", "set", "lo", "up");
    await inside("ip", "route", "add", "default", "via", hostAddress);

    registryPid = startDetached(
      "docker-registry",
      ["serve", dir("registry/config.yml")],
      dir("registry/registry.log"),
    );
    insidePid = startDetached(
      "ip",
      ["netns", "exec", namespace, "bash", INSIDE_SCRIPT, state],
      dir("inside.log"),
    );

    const socket = dir("docker/docker.sock");
    await until(
      "the stand-in's dockerd",
      60,
      async () => {
        const dockerdLog = await readFile(dir("docker/dockerd.log"), "utf8").catch(() => "");
        if (dockerdLog.includes("failed to start daemon"))
          throw new Error(`the stand-in's dockerd failed: ${dockerdLog.trim().split("\n").at(-1)}`);
        return (await run("docker", ["-H", `unix://${socket}`, "info"])).code === 0;
      },
      dir("docker/dockerd.log"),
    );
    await until("the stand-in's sshd", 20, () => tcpAnswers(address, 22), dir("ssh/sshd.log"));
    await until(
      "the registry",
      20,
      () => tcpAnswers(hostAddress, REGISTRY_PORT),
      dir("registry/registry.log"),
    );

    const clientEnv = { ...process.env, PATH: `${dir("client/bin")}:${process.env.PATH ?? ""}` };
    return {
      namespace,
      stateDir: state,
      address,
      user: SSH_USER,
      sshHost: `${SSH_USER}@${address}`,
      privateKeyPath: dir("client/id_ed25519"),
      knownHostsLine,
      knownHostsPath: dir("client/known_hosts"),
      dockerHost: `ssh://${SSH_USER}@${address}`,
      clientEnv,
      registry: { server: registryServer, username: REGISTRY_USER, password: registryPassword, caPath: ca },
      startSeconds: (performance.now() - started) / 1000,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
