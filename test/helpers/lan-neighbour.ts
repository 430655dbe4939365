/**
 * A neighbour on this machine's LAN, for the real-engine suites: a network namespace joined to this machine by
 * a veth pair with addresses of its own, its default route through this machine, as a laptop's neighbour on a
 * shared network has. It can try every path to a port this machine publishes: this machine's address on the
 * link they share, 127.0.0.1 sent to this machine (what Docker's DNAT rule for a port published on loopback
 * answers), and a container's own address routed through this machine. Also the lan-guard script, run as root.
 * Creating a namespace needs root: the commands run through `sudo -n` when the suite is not root.
 */
import { join } from "node:path";
import { ROOT } from "./pulumi.js";
import { type CommandResult, run, tail } from "./run.js";

function asRoot(command: string, ...args: string[]): Promise<CommandResult> {
  return process.getuid?.() === 0 ? run(command, args) : run("sudo", ["-n", command, ...args]);
}

async function mustRun(command: string, ...args: string[]): Promise<void> {
  const result = await asRoot(command, ...args);
  if (result.code !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${tail(result, 5)}`);
}

export interface LanNeighbour {
  /** This machine's address on the link the neighbour shares with it. */
  readonly hostAddress: string;
  /**
   * GET `url` from the neighbour: the HTTP status when anything answers (any status: it was reached), or why
   * nothing did. 127.0.0.1 goes to this machine, not to the neighbour's own loopback.
   */
  get(url: string, options?: { host?: string }): Promise<{ answered: boolean; said: string }>;
  /** Removes the namespace and the link; safe to call twice, and after a failed set-up. */
  close(): Promise<void>;
}

/** A new neighbour; its names and addresses derive from this process, so two suites never collide. */
export async function lanNeighbour(): Promise<LanNeighbour> {
  const id = process.pid % 100_000;
  const namespace = `lan-neighbour-${id}`;
  const hostSide = `lnh${id}`;
  const neighbourSide = `lnn${id}`;
  // A /30 of its own in 10.213.0.0/16, a range nothing on this machine uses.
  const subnet = `10.213.${Math.floor(id / 64) % 256}.${(id % 64) * 4}`;
  const [a, b, c, d] = subnet.split(".").map(Number) as [number, number, number, number];
  const hostAddress = `${a}.${b}.${c}.${d + 1}`;
  const neighbourAddress = `${a}.${b}.${c}.${d + 2}`;
  const inside = (...args: string[]) => mustRun("ip", "netns", "exec", namespace, ...args);

  const close = async () => {
    await asRoot("ip", "netns", "delete", namespace);
    // Gone with the namespace (its peer was in it); deleted here too in case the set-up stopped halfway.
    await asRoot("ip", "link", "delete", hostSide);
  };
  try {
    await mustRun("ip", "netns", "add", namespace);
    await mustRun("ip", "link", "add", hostSide, "type", "veth", "peer", "name", neighbourSide);
    await mustRun("ip", "link", "set", neighbourSide, "netns", namespace);
    await mustRun("ip", "address", "add", `${hostAddress}/30`, "dev", hostSide);
    await mustRun("ip", "link", "set", hostSide, "up");
    await inside("ip", "address", "add", `${neighbourAddress}/30`, "dev", neighbourSide);
    await inside("ip", "link", "set", neighbourSide, "up");
    await inside("ip", "link", "set", "lo", "up");
    await inside("ip", "route", "add", "default", "via", hostAddress);
    // 127.0.0.1 to this machine: a rule ahead of the local table (moved behind it), as a hostile neighbour
    // would send it.
    await inside("ip", "rule", "add", "pref", "10", "to", "127.0.0.1/32", "lookup", "100");
    await inside("ip", "rule", "del", "pref", "0", "lookup", "local");
    await inside("ip", "rule", "add", "pref", "100", "lookup", "local");
    await inside(
      "ip",
      "route",
      "add",
      "127.0.0.1/32",
      "via",
      hostAddress,
      "dev",
      neighbourSide,
      "src",
      neighbourAddress,
      "table",
      "100",
    );
    // Answers come back from 127.0.0.1 over the link, which the kernel drops as martian unless told not to.
    await inside("sysctl", "-q", "-w", `net.ipv4.conf.${neighbourSide}.route_localnet=1`);
  } catch (error) {
    await close();
    throw error;
  }

  return {
    hostAddress,
    async get(url, options = {}) {
      const result = await asRoot(
        "ip",
        ...["netns", "exec", namespace, "curl", "--silent", "--output", "/dev/null"],
        ...["--write-out", "%{http_code}", "--max-time", "3"],
        ...(options.host === undefined ? [] : ["--header", `Host: ${options.host}`]),
        url,
      );
      const status = result.stdout.trim();
      return result.code === 0 && status !== "000"
        ? { answered: true, said: `HTTP ${status}` }
        : { answered: false, said: `curl exit ${result.code}` };
    },
    close,
  };
}

/** scripts/lan-guard.sh `action`, as root; the result of `check` is its exit code. */
export function lanGuard(action: "install" | "remove" | "check"): Promise<CommandResult> {
  return asRoot("bash", join(ROOT, "scripts/lan-guard.sh"), action);
}
