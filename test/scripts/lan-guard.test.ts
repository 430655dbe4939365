/**
 * scripts/lan-guard.sh with a stand-in for iptables on PATH that keeps the DOCKER-USER chain in a file: the
 * rules it adds and where, that install and remove can run twice, and what it refuses. The rules' effect on
 * real traffic is the real-engine suite's to prove (a LAN neighbour in a network namespace).
 */
import { execFile } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeEach, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/pulumi.js";

const exec = promisify(execFile);
const SCRIPT = join(ROOT, "scripts/lan-guard.sh");
let bin: string;

/**
 * iptables over a file of rules, one per line: `-n -L CHAIN` succeeds when the chain file exists, `-C` finds a
 * line, `-I CHAIN N` inserts at line N, `-D` deletes the first match.
 */
const IPTABLES = `#!/bin/bash
chain_file="$STATE/$( [ "$1" = -n ] && echo "$3" || echo "$2" )"
case "$1" in
  -n) [ -f "$chain_file" ] ;;
  -C) shift 2; grep -qxF -- "$*" "$chain_file" ;;
  -I) position="$3"; shift 3; rule="$*"
      awk -v n="$position" -v r="$rule" 'NR==n{print r} {print} END{if (NR<n) print r}' "$chain_file" > "$chain_file.new"
      mv "$chain_file.new" "$chain_file" ;;
  -D) shift 2; rule="$*"
      awk -v r="$rule" '!done && $0==r {done=1; next} {print}' "$chain_file" > "$chain_file.new"
      mv "$chain_file.new" "$chain_file" ;;
  *) exit 2 ;;
esac
`;

async function guard(action: string, uid = "0") {
  try {
    const { stdout, stderr } = await exec("bash", [SCRIPT, action], {
      env: { PATH: `${bin}:/usr/bin:/bin`, STATE: bin, UID_OF_STUB: uid },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const chain = async () => (await readFile(join(bin, "DOCKER-USER"), "utf8")).trim().split("\n");

beforeEach(async () => {
  bin = await mkdtemp(join(tmpdir(), "lan-guard-"));
  await writeFile(join(bin, "iptables"), IPTABLES);
  await writeFile(join(bin, "id"), '#!/bin/bash\necho "$UID_OF_STUB"\n');
  await chmod(join(bin, "iptables"), 0o755);
  await chmod(join(bin, "id"), 0o755);
  // Docker's own chain: its closing RETURN.
  await writeFile(join(bin, "DOCKER-USER"), "-j RETURN\n");
  return () => rm(bin, { recursive: true, force: true });
});

describe("lan-guard.sh", () => {
  it("installs its three rules ahead of Docker's RETURN, once however often it runs, and check then passes", async () => {
    expect((await guard("check")).code).toBe(1);
    for (let run = 0; run < 2; run++) {
      const installed = await guard("install");
      expect(installed.code, installed.stderr).toBe(0);
    }
    expect(await chain()).toEqual([
      "-m conntrack --ctstate NEW --ctorigdst 127.0.0.0/8 -m comment --comment activity-api-lan-guard:loopback -j DROP",
      "! -i br-+ -o br-+ -m conntrack --ctstate NEW -m conntrack ! --ctstate DNAT -m comment --comment activity-api-lan-guard:direct -j DROP",
      "! -i docker0 -o docker0 -m conntrack --ctstate NEW -m conntrack ! --ctstate DNAT -m comment --comment activity-api-lan-guard:direct -j DROP",
      "-j RETURN",
    ]);
    expect((await guard("check")).code).toBe(0);
  });

  it("removes exactly its own rules, and removing again is fine", async () => {
    await writeFile(join(bin, "DOCKER-USER"), "-s 192.0.2.9 -j DROP\n-j RETURN\n");
    await guard("install");
    for (let run = 0; run < 2; run++) expect((await guard("remove")).code).toBe(0);
    expect(await chain()).toEqual(["-s 192.0.2.9 -j DROP", "-j RETURN"]);
    expect((await guard("check")).code).toBe(1);
  });

  it("refuses without root, naming the command, and without Docker's chain", async () => {
    const notRoot = await guard("install", "1000");
    expect(notRoot.code).toBe(1);
    expect(notRoot.stderr.trim()).toBe("lan-guard: needs root: sudo bash scripts/lan-guard.sh install");
    await rm(join(bin, "DOCKER-USER"));
    const noChain = await guard("install");
    expect(noChain.code).toBe(1);
    expect(noChain.stderr).toContain("no DOCKER-USER chain: start Docker first");
  });

  it("rejects an unknown action with its usage", async () => {
    const result = await guard("open");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Usage: sudo bash scripts/lan-guard.sh <install|remove|check>");
  });
});
