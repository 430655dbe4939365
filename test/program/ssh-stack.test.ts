/**
 * A `target: ssh` stack under mocks: what the engine suite (test/engine/ssh-target.test.ts) cannot show one by
 * one. Every resource on the server goes through the one provider that pins the host key, after the host check;
 * the image is pushed to the stack's registry and pulled there by digest; the proxy binds the address the stack
 * says; the data volume is kept on destroy unless the stack says otherwise; and the policy pack's rule against a
 * port open on every interface.
 */
import { describe, expect, it } from "vitest";
import { HOST_PORT } from "../../app/src/contract.js";
import { policies } from "../../policy/policies.js";
import { analyze } from "../helpers/policy.js";
import { type ProgramRun, type Registration, runProgram } from "../helpers/pulumi.js";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHNzaHRhcmdldGhvc3RrZXlmb3J0ZXN0aW5nMDAwMDAw";
const SSH_VALUES: Record<string, unknown> = {
  "activity-api:target": "ssh",
  "activity-api:sshHost": "deploy@203.0.113.10",
  "activity-api:sshKnownHosts": `203.0.113.10 ${HOST_KEY}`,
  "activity-api:registryServer": "ghcr.io/example",
  "activity-api:registryUsername": "example-bot",
  "activity-api:registryPassword": "ghp_not-a-real-token",
};
const SECRET_KEYS = ["activity-api:registryPassword"];

function sshStack(overrides: Record<string, unknown> = {}): Promise<ProgramRun> {
  return runProgram("ssh", { ...SSH_VALUES, ...overrides }, {}, SECRET_KEYS);
}

const DOCKER_PROVIDER = "pulumi:providers:docker";

/** The SDK's marker of a secret value in serialized inputs (runtime/rpc.ts specialSigKey, specialSecretSig). */
const SECRET_SIG = ["4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"] as const;

/** The value of a secret input; fails when the input is not a secret. */
function secretValue(input: unknown): unknown {
  const wrapped = input as Record<string, unknown>;
  expect(wrapped[SECRET_SIG[0]], "not a secret").toBe(SECRET_SIG[1]);
  return wrapped.value;
}

function sshOptsOf(provider: Registration): string[] {
  const raw = provider.inputs.sshOpts;
  return (typeof raw === "string" ? JSON.parse(raw) : raw) as string[];
}

describe("a target ssh stack (under mocks)", () => {
  it("reaches the server through one Docker provider that trusts exactly the pinned key", async () => {
    const run = await sshStack({ "activity-api:sshPort": 2222 });
    const [provider, ...others] = run.ofType(DOCKER_PROVIDER);
    expect(others).toEqual([]);
    expect(provider?.inputs.host).toBe("ssh://deploy@203.0.113.10");
    const sshOpts = sshOptsOf(provider as Registration);
    expect(sshOpts).toEqual([
      ...["-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=/dev/null"],
      ...["-o", "GlobalKnownHostsFile=/dev/null", "-o", `KnownHostsCommand=/bin/echo * ${HOST_KEY}`],
      ...["-o", "Port=2222"],
    ]);
    // Every Docker resource is on that provider: nothing reaches this machine's engine but the image build.
    const onDocker = run.registrations.filter(
      (registration) => registration.custom && registration.type.startsWith("docker:"),
    );
    for (const resource of onDocker.filter((resource) => resource.type !== "docker:index/image:Image")) {
      expect(resource.provider, resource.name).toContain(`${DOCKER_PROVIDER}::activity-host-docker::`);
    }
    // The host check runs the same options, and is what the provider waits for.
    const check = run.named("command:local:Command", "activity-host-ready");
    const environment = check.inputs.environment as Record<string, string>;
    expect(environment.SSH_DESTINATION).toBe("deploy@203.0.113.10");
    expect(environment.SSH_OPTS?.split("\n")).toEqual(sshOpts);
    expect(check.inputs.create).toContain("Host key verification failed");
    // The gate of each release reaches the engine the same way.
    const gate = run
      .ofType("command:local:Command")
      .find((command) => command.name.startsWith("activity-ready-")) as Registration;
    const gateEnvironment = gate.inputs.environment as Record<string, string>;
    expect(JSON.parse(String(gateEnvironment.DOCKER_COMMAND))).toEqual([
      "ssh",
      ...sshOpts,
      "deploy@203.0.113.10",
      "docker",
    ]);
  });

  it("adds the private key only when the stack names one, and no other identity then", async () => {
    const run = await sshStack({ "activity-api:sshPrivateKeyPath": "/home/ana/.ssh/deploy" });
    expect(sshOptsOf(run.named(DOCKER_PROVIDER, "activity-host-docker")).slice(-4)).toEqual([
      "-o",
      "IdentitiesOnly=yes",
      "-i",
      "/home/ana/.ssh/deploy",
    ]);
  });

  it("pushes the image to the stack's registry and pulls it on the server by digest, with those credentials", async () => {
    const run = await sshStack();
    const image = run.named("docker:index/image:Image", "activity-image");
    expect(image.inputs.imageName).toMatch(/^ghcr\.io\/example\/activity-api:0\.1\.0-[0-9a-f]{12}$/);
    expect(secretValue(image.inputs.registry)).toEqual({
      server: "ghcr.io",
      username: "example-bot",
      password: "ghp_not-a-real-token",
    });
    expect(image.inputs.skipPush).not.toBe(true);
    expect(run.outputs.imageRef).toMatch(/^ghcr\.io\/example\/activity-api@sha256:[0-9a-f]{64}$/);
    const pulled = run.named(
      "docker:index/remoteImage:RemoteImage",
      `activity-app-image-${run.outputs.release}`,
    );
    expect(pulled.inputs.name).toBe(run.outputs.imageRef);
    expect(pulled.inputs.keepLocally).toBe(false);
    const provider = run.named(DOCKER_PROVIDER, "activity-host-docker");
    const auth = secretValue(provider.inputs.registryAuth);
    expect(typeof auth === "string" ? JSON.parse(auth) : auth).toEqual([
      { address: "ghcr.io", username: "example-bot", password: "ghp_not-a-real-token" },
    ]);
  });

  it("binds the proxy to the host itself unless the stack names another address", async () => {
    const proxyPorts = (run: ProgramRun) =>
      run.named("docker:index/container:Container", "activity-proxy").inputs.ports;
    const byDefault = await sshStack();
    expect(proxyPorts(byDefault)).toEqual([{ internal: HOST_PORT, external: HOST_PORT, ip: "127.0.0.1" }]);
    expect(byDefault.outputs.apiUrl).toBe(`http://127.0.0.1:${HOST_PORT}`);
    const onLan = await sshStack({ "activity-api:publishAddress": "10.0.0.5" });
    expect(proxyPorts(onLan)).toEqual([{ internal: HOST_PORT, external: HOST_PORT, ip: "10.0.0.5" }]);
    expect(onLan.outputs.apiUrl).toBe(`http://10.0.0.5:${HOST_PORT}`);
  });

  it("keeps DynamoDB Local's volume on destroy, under a name the stack finds again, unless told not to", async () => {
    const kept = (await sshStack()).named("docker:index/volume:Volume", "activity-dynamodb-data");
    expect(kept.inputs.name).toBe("activity-dynamodb-data");
    expect(kept.options.retainOnDelete).toBe(true);
    const dropped = (await sshStack({ "activity-api:keepDataOnDestroy": false })).named(
      "docker:index/volume:Volume",
      "activity-dynamodb-data",
    );
    expect(dropped.inputs.name).toBe("activity-dynamodb-data");
    expect(dropped.options.retainOnDelete).toBe(false);
  });

  it("passes the policy pack, which refuses a proxy open on every interface with no firewall of its own", async () => {
    const mandatory = async (run: ProgramRun) =>
      (await analyze(policies, run.registrations)).filter(
        (finding) => finding.enforcementLevel === "mandatory",
      );
    expect(await mandatory(await sshStack({ "activity-api:publishAddress": "10.0.0.5" }))).toEqual([]);
    // The settings refuse such an ssh stack first; a dev stack opened to the LAN on purpose shows the rule.
    const open = await mandatory(await runProgram("dev", { "activity-api:publishTo": "lan" }));
    expect(open.map((finding) => [finding.policy, finding.resource])).toEqual([
      ["no-world-open-docker-port", "activity-proxy"],
    ]);
    expect(open[0]?.message).toContain("publishes port 10001 on every interface");
  });

  describe("with database dynamodb: a regional table, reached with a key of the app's own", () => {
    const REGIONAL = { "activity-api:database": "dynamodb", "aws:region": "eu-west-1" };

    it("creates the table and an IAM user allowed only its items, and no DynamoDB Local", async () => {
      const run = await sshStack(REGIONAL);
      const table = run.named("aws:dynamodb/table:Table", "activity-table");
      expect(table.inputs.deletionProtectionEnabled).toBe(true);
      expect(run.ofType("docker:index/volume:Volume").map((volume) => volume.name)).toEqual([
        "activity-proxy-data",
      ]);
      expect(run.registrations.map((registration) => registration.name)).not.toContain("activity-dynamodb");
      expect(run.named("aws:iam/user:User", "activity-user").inputs).toEqual({});
      const policy = JSON.parse(
        String(run.named("aws:iam/userPolicy:UserPolicy", "activity-data-policy").inputs.policy),
      );
      const tableArn = "arn:aws:dynamodb:eu-west-1:123456789012:table/activity-table-4f2a9c1";
      expect(policy.Statement).toHaveLength(1);
      expect(policy.Statement[0].Resource).toEqual([tableArn, `${tableArn}/index/*`]);
      expect(run.outputs.tableName).toBe("activity-table-4f2a9c1");
      expect(run.outputs.databaseVolume).toBeUndefined();
    });

    it("hands the container that user's key, as a secret, in test mode on the table", async () => {
      const run = await sshStack(REGIONAL);
      const app = run.named("docker:index/container:Container", `activity-app-${run.outputs.release}`);
      const envs = secretValue(app.inputs.envs) as string[];
      expect(envs).toEqual(
        expect.arrayContaining([
          "APP_ENV=test",
          "TABLE_NAME=activity-table-4f2a9c1",
          "AWS_REGION=eu-west-1",
          "AWS_ACCESS_KEY_ID=activity-key-id",
          "AWS_SECRET_ACCESS_KEY=secret-of-activity-key",
        ]),
      );
      expect(envs.some((env) => env.startsWith("DYNAMODB_ENDPOINT="))).toBe(false);
    });

    it("caps the user with permissionsBoundary when the stack names one, and passes the policy pack", async () => {
      const boundary = "arn:aws:iam::123456789012:policy/ssh-deploy-boundary";
      const run = await sshStack({ ...REGIONAL, "activity-api:permissionsBoundary": boundary });
      expect(run.named("aws:iam/user:User", "activity-user").inputs).toEqual({
        permissionsBoundary: boundary,
      });
      const findings = await analyze(policies, run.registrations);
      expect(findings.filter((finding) => finding.enforcementLevel === "mandatory")).toEqual([]);
    });

    it.each([
      [{ "activity-api:database": "dynamodb" }, "aws:region is required when target is ssh"],
      [{ "activity-api:database": "postgres" }, 'activity-api:database is "postgres"; it is local'],
      [
        { ...REGIONAL, "activity-api:keepDataOnDestroy": false },
        "activity-api:keepDataOnDestroy does not apply to activity-api:database dynamodb",
      ],
      [
        { "activity-api:deletionProtection": false },
        "activity-api:deletionProtection does not apply to activity-api:database local",
      ],
    ])("refuses %j in one line, before anything is declared", async (values, message) => {
      await expect(sshStack(values)).rejects.toThrow(message);
    });
  });
});
