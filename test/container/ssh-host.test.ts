/**
 * The stand-in for "a server you already have" (test/helpers/ssh-host.ts), proven before the engine suites rely
 * on it: reachable over SSH with its pinned host key and refused with any other, its own dockerd driven with
 * `docker -H ssh://`, publishing ports at its address, pulling by digest with credentials from a TLS registry
 * whose CA only the test made; and gone without a trace after stop().
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, tail } from "../helpers/run.js";
import { type SshHost, sshHost } from "../helpers/ssh-host.js";

let host: SshHost;
let work: string;
const token = randomBytes(8).toString("hex");

/** `docker` from this machine to the stand-in over SSH, with the given client config dir (credentials). */
function remoteDocker(dockerConfig: string, ...args: string[]) {
  return run("docker", ["-H", host.dockerHost, ...args], {
    env: { ...host.clientEnv, DOCKER_CONFIG: dockerConfig },
  });
}

async function dockerConfigDir(name: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** The stand-in's containers' cgroup parent, named after its namespace, wherever it exists (cgroup v1 or v2). */
async function standInCgroups(): Promise<string[]> {
  const hierarchies = (await readFile("/proc/self/mounts", "utf8"))
    .split("\n")
    .map((line) => line.split(" "))
    .filter(([, , type]) => type === "cgroup" || type === "cgroup2")
    .map(([, path = ""]) => join(path, host.namespace));
  return hierarchies.filter((path) => existsSync(path));
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "ssh-host-test-"));
  host = await sshHost();
  console.log(`ssh-host: started in ${host.startSeconds.toFixed(1)} s at ${host.sshHost}`);
});

afterAll(async () => {
  await host?.stop();
  await rm(work, { recursive: true, force: true });
});

describe("the SSH host stand-in", () => {
  it("logs in with the pinned host key, and a wrong pinned key fails before the command runs", async () => {
    const pinned = await run("ssh", [host.sshHost, "id", "-un"], { env: host.clientEnv });
    expect(pinned.code, tail(pinned)).toBe(0);
    expect(pinned.stdout.trim()).toBe(host.user);

    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(work, "impostor")]);
    const impostor = (await readFile(join(work, "impostor.pub"), "utf8")).split(" ").slice(0, 2).join(" ");
    await writeFile(join(work, "wrong_known_hosts"), `${host.address} ${impostor}\n`);
    const marker = `wrong-key-ran-${token}`;
    const wrong = await run(
      "ssh",
      ["-o", `UserKnownHostsFile=${join(work, "wrong_known_hosts")}`, host.sshHost, "mkdir", marker],
      { env: host.clientEnv },
    );
    expect(wrong.code).toBe(255);
    expect(wrong.stderr).toContain("REMOTE HOST IDENTIFICATION HAS CHANGED");
    expect(wrong.stderr).toContain("Host key verification failed.");
    const after = await run("ssh", [host.sshHost, "test", "-e", marker], { env: host.clientEnv });
    expect(after.code, "the command ran despite the wrong host key").toBe(1);
  });

  it("refuses a password and any key but its own", async () => {
    // Not through clientEnv's ssh: its config adds the stand-in's own key to any -i.
    const bareSsh = (...args: string[]) =>
      run("/usr/bin/ssh", [
        ...[
          "-F",
          "/dev/null",
          "-o",
          `UserKnownHostsFile=${host.knownHostsPath}`,
          "-o",
          "StrictHostKeyChecking=yes",
        ],
        ...["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", ...args, host.sshHost, "true"],
      ]);
    const otherKey = await bareSsh("-i", join(work, "impostor"));
    expect(otherKey.code).toBe(255);
    expect(otherKey.stderr).toContain("Permission denied (publickey)");
    const password = await bareSsh("-o", "PreferredAuthentications=password,keyboard-interactive");
    expect(password.code).toBe(255);
    expect(password.stderr).toContain("Permission denied (publickey)");
  });

  it("refuses a second start under the same names, and leaves the first one whole", async () => {
    await expect(sshHost()).rejects.toThrow(/exists: is another stand-in on that address\?/);
    expect(existsSync(join("/etc/docker/certs.d", host.registry.server, "ca.crt"))).toBe(true);
    expect(existsSync(host.stateDir)).toBe(true);
    const stillThere = await run("ssh", [host.sshHost, "true"], { env: host.clientEnv });
    expect(stillThere.code, tail(stillThere)).toBe(0);
  });

  it("drives its own dockerd over SSH, never this machine's", async () => {
    const config = await dockerConfigDir("plain");
    const info = await remoteDocker(config, "info", "--format", "{{.DockerRootDir}} {{.Driver}}");
    expect(info.code, tail(info)).toBe(0);
    expect(info.stdout.trim()).toBe(`${join(host.stateDir, "docker/data")} vfs`);
    // The standard socket path in an SSH session is the stand-in's: this machine's is not even visible there.
    const socket = await run("ssh", [host.sshHost, "stat", "-L", "-c", "%G", "/var/run/docker.sock"], {
      env: host.clientEnv,
    });
    expect(socket.stdout.trim(), tail(socket)).toBe("ssh-host-docker");
  });

  it("pulls by digest from the TLS registry with credentials only, and publishes a port at its address", async () => {
    // A 2 MB image of one static busybox serving a page that names this run.
    const context = join(work, "image");
    await mkdir(join(context, "www"), { recursive: true });
    await copyFile("/bin/busybox", join(context, "busybox"));
    await writeFile(join(context, "www/index.html"), token);
    const image = `${host.registry.server}/ssh-host-proof`;
    const imported = await run("bash", [
      "-c",
      `tar -C "$1" -c . | docker import --change 'CMD ["/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]' - "$2"`,
      "import",
      context,
      `${image}:${token}`,
    ]);
    expect(imported.code, tail(imported)).toBe(0);

    try {
      // Pushed from this machine's daemon, as `pulumi up` would, with a throwaway client config.
      const pusher = await dockerConfigDir("pusher");
      const asPusher = (...args: string[]) =>
        run("docker", args, { env: { ...process.env, DOCKER_CONFIG: pusher } });
      const anonymousPush = await asPusher("push", `${image}:${token}`);
      expect(anonymousPush.code).not.toBe(0);
      expect(tail(anonymousPush)).toMatch(/no basic auth credentials|unauthorized/);
      const login = await run(
        "docker",
        ["login", "--username", host.registry.username, "--password-stdin", host.registry.server],
        { env: { ...process.env, DOCKER_CONFIG: pusher }, input: host.registry.password },
      );
      expect(login.code, tail(login)).toBe(0);
      const push = await asPusher("push", `${image}:${token}`);
      expect(push.code, tail(push)).toBe(0);
      const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
      expect(digest, push.stdout).toBeDefined();
      const byDigest = `${image}@${digest}`;

      const anonymous = await dockerConfigDir("anonymous");
      const refused = await remoteDocker(anonymous, "pull", byDigest);
      expect(refused.code).not.toBe(0);
      expect(tail(refused)).toMatch(/no basic auth credentials|unauthorized/);

      const puller = await dockerConfigDir("puller");
      const remoteLogin = await run(
        "docker",
        [
          "-H",
          host.dockerHost,
          "login",
          "--username",
          host.registry.username,
          "--password-stdin",
          host.registry.server,
        ],
        { env: { ...host.clientEnv, DOCKER_CONFIG: puller }, input: host.registry.password },
      );
      expect(remoteLogin.code, tail(remoteLogin)).toBe(0);
      const pulled = await remoteDocker(puller, "pull", byDigest);
      expect(pulled.code, tail(pulled)).toBe(0);

      const started = await remoteDocker(puller, "run", "--detach", "--publish", "8080:8080", byDigest);
      expect(started.code, tail(started)).toBe(0);
      let page = "";
      for (let attempt = 0; attempt < 20 && page !== token; attempt++) {
        page = await fetch(`http://${host.address}:8080/`)
          .then((response) => response.text())
          .catch(() => "");
        if (page !== token) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(page).toBe(token);
      expect(await standInCgroups(), "the container runs under the stand-in's own cgroup parent").not.toEqual(
        [],
      );
    } finally {
      await run("docker", ["image", "rm", `${image}:${token}`]);
    }
  });

  it("leaves nothing behind after stop(), and a second stop() is harmless", async () => {
    const stopped = performance.now();
    await host.stop();
    console.log(`ssh-host: stopped in ${((performance.now() - stopped) / 1000).toFixed(1)} s`);
    await host.stop();

    const namespaces = await run("ip", ["netns", "list"]);
    expect(namespaces.stdout).not.toContain(host.namespace);
    const processes = await run("ps", ["-eo", "pid,args"]);
    expect(processes.stdout.split("\n").filter((line) => line.includes(host.stateDir))).toEqual([]);
    const mounts = await readFile("/proc/self/mountinfo", "utf8");
    expect(
      mounts.split("\n").filter((line) => line.includes(host.stateDir) || line.includes(host.namespace)),
    ).toEqual([]);
    expect(existsSync(host.stateDir)).toBe(false);
    expect(existsSync(join("/etc/docker/certs.d", host.registry.server))).toBe(false);
    expect(await standInCgroups()).toEqual([]);
    const links = await run("ip", ["-o", "address", "show"]);
    expect(links.stdout).not.toContain(host.registry.server.split(":")[0]);
  });
});
