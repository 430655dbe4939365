/** The readers the sealing test builds its endpoints from, on a container's own /proc and docker ps output. */
import { describe, expect, it } from "vitest";
import { listeningPorts, publishedPorts, routeGateways } from "./seal-probe.js";

describe("the seal probe's readers", () => {
  it("reads every gateway of a container's routes, least significant byte first, without repeats", () => {
    const route = [
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
      "eth0\t00000000\t010012AC\t0003\t0\t0\t0\t00000000\t0\t0\t0",
      "eth0\t000012AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0",
      "eth1\t000013AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0",
      "eth1\t0A000000\t010013AC\t0003\t0\t0\t0\t000000FF\t0\t0\t0",
    ].join("\n");
    expect(routeGateways(route)).toEqual(["172.18.0.1", "172.19.0.1"]);
  });

  it("reads the ports a container listens on, IPv4 and IPv6, and not those of its connections", () => {
    const tcp = [
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      "   0: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000 10002 0 1 1",
      "   1: 0B0013AC:1F40 020013AC:A1B2 01 00000000:00000000 00:00000000 00000000 10002 0 2 1",
      "  sl  local_address                         remote_address                        st tx_queue",
      "   0: 00000000000000000000000000000000:1F41 00000000000000000000000000000000:0000 0A 00000000:00000000",
    ].join("\n");
    expect(listeningPorts(tcp)).toEqual([8000, 8001]);
  });

  it("reads the host ports docker ps lists as published", () => {
    expect(
      publishedPorts("127.0.0.1:10080->10001/tcp\n\n0.0.0.0:32768->8000/tcp, :::32768->8000/tcp\n"),
    ).toEqual([10080, 32768]);
  });
});
