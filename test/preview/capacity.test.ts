/** What the capacity guard reads from `docker info` and from `df` on an EC2 host. */
import { describe, expect, it } from "vitest";
import { parseDf, parseDockerInfo } from "../../cli/preview/capacity.js";

describe("the host measurements", () => {
  it("reads the engine's memory and Docker root from docker info", () => {
    expect(parseDockerInfo("8232267776 /var/lib/docker\n")).toEqual({
      memoryBytes: 8_232_267_776,
      rootDir: "/var/lib/docker",
    });
    expect(() => parseDockerInfo("<no value> /var/lib/docker")).toThrow(/unexpected docker info output/);
  });

  it("reads the size and the space available, in bytes, from df -B1 --output=size,avail", () => {
    expect(parseDf("    1B-blocks        Avail\n21462233088  17013817344\n")).toEqual({
      totalBytes: 21_462_233_088,
      freeBytes: 17_013_817_344,
    });
    expect(() => parseDf("df: /var/lib/docker: No such file or directory")).toThrow(/unexpected df output/);
  });
});
