// Issue 15, chaos against the data plane (real agents, real wireguard-go, the project's relay program, real
// nftables NAT), one lab for the whole file:
// - the relay fed random, truncated and oversized frames from 50 connections while two relayed pairs run
//   iperf3: throughput against a fair baseline — the same fuzzer process, at the same pace, aimed at a discard
//   sink beside the relay (on 2 cores the fuzzer's own CPU would otherwise count as the relay's cost) — in
//   interleaved rounds, medians; the ratio to no fuzzing at all is printed too. The issue's ≤ 10 % drop is
//   asserted. What holds it: the relay's source penalty closes the fuzzer's new connections as they arrive, before
//   Node builds a Socket, once its address has spent its strikes (measured 1.00–1.16 at load 6–7; before it the
//   relay paid 1.3–1.6× the sink's CPU per garbage connection and the ratio was 0.72–1.05 on this machine). The relay's RSS
//   stays bounded, nothing dies, agents keep their relay connections, the pairs still answer;
// - a node "reboots" (every process in its namespace SIGKILLed, links flapped): the mesh re-forms, the rest
//   loses nothing;
// - a NAT router flushes its conntrack table, then maps the WireGuard port to another one: pairs recover ≤ 30 s.
// (Agent restarts under ping live in chaos-agent-restart.test.ts.)
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHAOS_MATRIX,
  ChaosMesh,
  type ChaosNode,
  cpuSeconds,
  iperf,
  median,
  pidsInNetns,
  rssBytes,
  startDiscardSink,
  startIperfServer,
  startPinger,
  startRelayFuzzer,
} from '../src/chaos/index.js';
import { waitFor } from '../src/mesh/fixture.js';

/** The discard sink's port on the relay host (the relay itself listens on RELAY_PORT). */
const SINK_PORT = 3999;
/** Cycles of (no fuzz, fuzz at the sink, fuzz at the relay) rounds; each round is a 3 s iperf3 per pair. */
const FUZZ_CYCLES = 6;
/**
 * The relay's RSS may grow this much under the garbage. What grows is V8's young generation: connection churn
 * (a Socket, its stream state and closures per attempt) makes the scavenger enlarge its semi-spaces towards
 * their 16 MiB maximum (48 MiB of young generation on 64-bit Node 20), and they are not shrunk afterwards.
 * Measured 33–53 MiB of growth over ~9,000–9,700 connections in 8 runs, and a plateau at +44 MiB over 60 s of
 * fuzzing standalone; the same relay with --max-semi-space-size=2 grew 6 MiB. The garbage itself is not retained
 * (one partial frame per connection at most).
 */
const RSS_GROWTH_BOUND = 80 * 2 ** 20;
/** #15: relayed throughput under garbage at least this share of the fair baseline's. */
const THROUGHPUT_TARGET = 0.9;
/** The relay's line when a source address has spent its strikes (its new connections are reset at accept). */
const SOURCE_PENALIZED = /"event":"source-penalized"[^\n]*?"source":"([^"]+)"/g;
/** Agent log lines that mean a relay connection was lost (in-process relay client). */
const RELAY_LOST = /"event":"relay-disconnected"/g;
/** Agent log lines kept from the NAT chaos test: how each pair's path moved, and why. */
const PATH_EVENTS = /"event":"(path-|relay-|wireguard-applied|endpoint|probe|upgrade|nat-)/;

let chaos: ChaosMesh;

beforeAll(async () => {
  chaos = await ChaosMesh.create({ extraHosts: 1 });
}, 240_000);

afterAll(async () => {
  await chaos?.destroy();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const record = (key: string, value: unknown) => process.stdout.write(`${JSON.stringify({ [key]: value })}\n`);

describe('chaos: the data plane', () => {
  it('relay fed garbage from 50 connections: relayed throughput held against a fair baseline, RSS bounded, nothing crashes', async () => {
    const [cone1, cone2, sym1] = (['cone1', 'cone2', 'sym1'] as const).map((n) => chaos.host(n));
    // Two relayed pairs at once, in opposite directions through sym1.
    const pairs = [
      { name: 'sym1>cone1', from: sym1!, to: cone1!, port: 5201 },
      { name: 'cone2>sym1', from: cone2!, to: sym1!, port: 5202 },
    ];
    const servers = pairs.map((p) => startIperfServer(p.to, p.port));
    // The baseline target: a discard sink beside the relay, fed by the same fuzzer process at the same rate.
    const sink = startDiscardSink(chaos.host('relay'), SINK_PORT);
    const fuzzer = startRelayFuzzer(chaos.host('tool1'), chaos.relayAddress, 50, sink.address);
    const relayPid = chaos.relay.pid;
    const relayLost = () =>
      [...chaos.mesh.agents.values()].reduce(
        (n, a) => n + (a.process.output().match(RELAY_LOST)?.length ?? 0),
        0,
      );
    const relayLostBefore = relayLost();
    const rssBefore = rssBytes(relayPid) ?? 0;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, rssBytes(relayPid) ?? 0);
    }, 200);
    const conditions = ['none', 'sink', 'relay'] as const;
    type Condition = (typeof conditions)[number];
    const rounds: Record<string, Record<Condition, number[]>> = Object.fromEntries(
      [...pairs.map((p) => p.name), 'both'].map((n) => [n, { none: [], sink: [], relay: [] }]),
    );
    // What the relay itself spends per round (CPU seconds, all threads): unlike throughput, this does not move
    // with the load other work puts on the machine, so it shows the relay's cost of garbage directly.
    const relayCpu: Record<Condition, number[]> = { none: [], sink: [], relay: [] };
    let counts: Awaited<ReturnType<typeof fuzzer.stop>> = { relay: {}, sink: {} };
    let sunk: Awaited<ReturnType<typeof sink.stop>> | undefined;
    const load = { startLoad1: loadavg()[0]!, endLoad1: 0 };
    try {
      await sink.ready();
      await fuzzer.ready();
      fuzzer.pause();
      // Interleaved rounds, the order rotated every cycle: the load from other work on the machine drifts and
      // every condition sees it alike.
      for (let cycle = 0; cycle < FUZZ_CYCLES; cycle++) {
        for (let k = 0; k < conditions.length; k++) {
          const condition = conditions[(cycle + k) % conditions.length]!;
          if (condition === 'none') fuzzer.pause();
          else fuzzer.aim(condition);
          // Long enough for every worker (the slow-header ones trickle for ~2 s) to run at its steady rate.
          await sleep(condition === 'none' ? 500 : 2_000);
          const cpuBefore = cpuSeconds(relayPid) ?? 0;
          const bps = await Promise.all(pairs.map((p) => iperf(p.from, p.to.address, p.port, 3)));
          relayCpu[condition].push((cpuSeconds(relayPid) ?? 0) - cpuBefore);
          for (const [j, p] of pairs.entries()) rounds[p.name]![condition].push(bps[j]!);
          rounds.both![condition].push(bps.reduce((x, y) => x + y, 0));
        }
      }
      fuzzer.pause();
    } finally {
      clearInterval(sampler);
      load.endLoad1 = loadavg()[0]!;
      counts = await fuzzer.stop();
      sunk = await sink.stop().catch(() => undefined);
      for (const s of servers) await s.stop(0);
    }
    const rssAfter = rssBytes(relayPid) ?? 0;
    const mbps = (v: number) => Math.round(v / 1e6);
    const summary = Object.fromEntries(
      Object.entries(rounds).map(([name, r]) => [
        name,
        {
          medianMbps: {
            none: mbps(median(r.none)),
            sink: mbps(median(r.sink)),
            relay: mbps(median(r.relay)),
          },
          vsSink: Number((median(r.relay) / median(r.sink)).toFixed(3)),
          vsNoFuzz: Number((median(r.relay) / median(r.none)).toFixed(3)),
          roundsMbps: { none: r.none.map(mbps), sink: r.sink.map(mbps), relay: r.relay.map(mbps) },
        },
      ]),
    );
    const both = rounds.both!;
    const pairedRatio = Number(median(both.relay.map((r, cycle) => r / both.sink[cycle]!)).toFixed(3));
    // Relay CPU seconds per GB forwarded, per condition (3 s rounds; both pairs cross the relay).
    const gb = (c: Condition) => rounds.both![c].map((bps) => (bps * 3) / 8 / 1e9);
    const relayCpuPerGB = Object.fromEntries(
      conditions.map((c) => [c, Number(median(relayCpu[c].map((cpu, i) => cpu / gb(c)[i]!)).toFixed(2))]),
    );
    const relayCpuPerRoundS = Object.fromEntries(
      conditions.map((c) => [c, relayCpu[c].map((x) => Number(x.toFixed(2)))]),
    );
    const rss = {
      beforeMiB: Math.round(rssBefore / 2 ** 20),
      peakMiB: Math.round(rssPeak / 2 ** 20),
      afterMiB: Math.round(rssAfter / 2 ** 20),
    };
    // Sources the relay penalized (one line each time a source's strikes ran out).
    const penalized = [...chaos.relay.output().matchAll(SOURCE_PENALIZED)].map((m) => m[1]!);
    record('relayFuzz', {
      pairedRatio,
      penalizedSources: [...new Set(penalized)],
      meetsTarget: pairedRatio >= THROUGHPUT_TARGET,
      throughput: summary,
      relayCpuPerGB,
      relayCpuPerRoundS,
      rss,
      fuzzer: counts,
      sink: sunk,
      load,
      cores: cpus().length,
    });

    expect(chaos.relay.done, chaos.relay.output().slice(-3000)).toBe(false);
    expect([...chaos.mesh.agents.values()].every((a) => !a.process.done)).toBe(true);
    // Malformed input closes the fuzzer's own connections, never the agents' (in-process relay clients).
    expect(relayLost() - relayLostBefore, 'agents lost their relay connection').toBe(0);
    // The relay got at least the sink's share of attempts (the fuzzer paces itself), and plenty of them. It may
    // get more: an attempt the relay resets ends at once, while one at the sink lasts its full time and, on a
    // loaded machine, its timer fires late and delays the worker's next attempt (9,533 vs 8,718 at load 6). More
    // garbage at the relay only makes the ratio below harder to meet.
    const [atRelay, atSink] = [counts.relay.connections ?? 0, counts.sink.connections ?? 0];
    expect(atRelay).toBeGreaterThan(1_000);
    expect(atRelay / atSink, JSON.stringify(counts)).toBeGreaterThan(0.9);
    // The relay defended itself by address: it penalized the fuzzer's, and only that one (the agents' relay
    // connections come from other addresses and were never refused).
    expect(penalized.length, 'relay never penalized the fuzzer').toBeGreaterThan(0);
    expect(new Set(penalized).size, penalized.join(' ')).toBe(1);
    // #15's bound, against the fair baseline: the same garbage at the same rate from the same process, aimed at
    // the sink instead of the relay, so the fuzzer's own CPU is on both sides of the ratio. What is left is the
    // relay's own cost of garbage, paid on the thread that forwards (relayCpuPerRoundS shows it directly). The
    // statistic: the pairs' total per round, relay round over the sink round of the same cycle (seconds apart,
    // so the load other work puts on the machine cancels), median over the cycles.
    expect(
      pairedRatio,
      `${JSON.stringify({ pairedRatio, summary, relayCpuPerRoundS, load })}`,
    ).toBeGreaterThanOrEqual(THROUGHPUT_TARGET);
    expect(rssPeak - rssBefore, JSON.stringify(rss)).toBeLessThan(RSS_GROWTH_BOUND);
    // Still a working relay: the relayed pairs answer.
    await chaos.pingable('sym1', 'cone1', 10_000);
    await chaos.pingable('sym1', 'cone2', 10_000);
  }, 240_000);

  it('a node reboots (every process in it killed, links flapped): the mesh re-forms, the rest loses nothing', async () => {
    await chaos.matrixIs(CHAOS_MATRIX, 90_000);
    const cone2 = chaos.host('cone2');
    const rest = startPinger(chaos.host('sym1'), chaos.host('cone1').address);
    await sleep(1_000);
    const routes = (await cone2.exec(['ip', 'route', 'show'])).stdout.trim().split('\n');
    const links = (
      JSON.parse((await cone2.exec(['ip', '-j', 'link', 'show'])).stdout) as Array<{ ifname: string }>
    )
      .map((l) => l.ifname)
      .filter((n) => n !== 'lo' && n !== 'wire_kube');
    const at = Date.now();
    // A reboot spares nothing: the agent, wireguard-go, the detached relay-link and whatever else runs there.
    const victims = await pidsInNetns(cone2.netns);
    const commands = victims.map(commandOf);
    expect(
      commands.some((c) => c.includes('wireguard-go')),
      commands.join('\n'),
    ).toBe(true);
    const agent = chaos.mesh.agents.get('cone2')!;
    expect(victims).toContain(agent.process.pid);
    for (const pid of victims) killIfAlive(pid);
    await agent.process.exited;
    chaos.mesh.agents.delete('cone2');
    await waitFor(async () => (await pidsInNetns(cone2.netns)).length === 0, 10_000, 'cone2 emptied');
    for (const l of links) await cone2.exec(['ip', 'link', 'set', l, 'down']);
    await sleep(2_000);
    for (const l of links) await cone2.exec(['ip', 'link', 'set', l, 'up']);
    // What the boot scripts would put back: the LAN routes went with the link.
    for (const route of routes)
      await cone2.exec(['sh', '-c', `ip route replace ${route}`], { allowFail: true });
    const started = chaos.mesh.startAgent(cone2);
    await chaos.mesh.waitStarted(started, 60_000);
    const pairs: Array<[ChaosNode, ChaosNode]> = [
      ['cone1', 'cone2'],
      ['cone2', 'cone1'],
      ['sym1', 'cone2'],
      ['cone2', 'sym1'],
    ];
    const back: Record<string, number> = {};
    for (const [a, b] of pairs) back[`${a}>${b}`] = (await chaos.pingable(a, b, 60_000)) + (Date.now() - at);
    const matrixMs = await chaos.matrixIs(CHAOS_MATRIX, 90_000);
    await sleep(1_000);
    const r = await rest.stop();
    record('nodeReboot', {
      killed: commands,
      pingableAfterMs: back,
      matrixAfterMs: Date.now() - at - 1_000,
      matrixWaitMs: matrixMs,
      rest: { pair: 'sym1>cone1', transmitted: r.transmitted, lost: r.lost, longestGapMs: r.longestGapMs },
    });
    expect(r.transmitted).toBeGreaterThan(1_000);
    expect(r.lost, chaos.mesh.logs()).toBe(0);
  }, 240_000);

  it('a NAT router flushes conntrack, then maps WireGuard to another port: pairs recover within 30 s', async () => {
    await chaos.matrixIs(CHAOS_MATRIX, 60_000);
    const router = chaos.lab.router('lan1');
    const cone1 = chaos.host('cone1');
    const watch = () => ({
      direct: startPinger(chaos.host('cone2'), cone1.address, 0.05),
      relayed: startPinger(chaos.host('sym1'), cone1.address, 0.05),
    });
    /**
     * From `at` until the pair answered again for good: the end of the last silence over 1 s that ended after
     * `at`; never, when it was not answering at the end.
     */
    const recoveredMs = (times: number[], at: number, stoppedAt: number) => {
      if ((times.at(-1) ?? 0) < stoppedAt - 1_500) return Number.POSITIVE_INFINITY;
      let end = at;
      for (let i = 1; i < times.length; i++)
        if (times[i]! > at && times[i]! - times[i - 1]! > 1_000) end = times[i]!;
      return Math.round(end - at);
    };
    const outcomes: Record<string, unknown> = {};

    // 1. The router forgets every mapping.
    let p = watch();
    await sleep(1_000);
    let at = Date.now();
    await router.shell.exec(['conntrack', '-F']);
    await chaos.lab.router(chaos.host('sym1').lan ?? 'lan-sym1').shell.exec(['conntrack', '-F']);
    await sleep(20_000);
    let stoppedAt = Date.now();
    let [d, r] = [await p.direct.stop(), await p.relayed.stop()];
    outcomes.flush = {
      direct: { recoveredMs: recoveredMs(d.replyTimesMs, at, stoppedAt), lost: d.lost },
      relayed: { recoveredMs: recoveredMs(r.replyTimesMs, at, stoppedAt), lost: r.lost },
    };

    // 2. The router now maps cone1's WireGuard port to another one (as a CPE reboot or a port clash does).
    const wan = router.wanAddress;
    const rule = `oifname "wan" ip saddr ${cone1.address} udp sport 51820 snat to ${wan}:41820`;
    p = watch();
    await sleep(1_000);
    at = Date.now();
    await router.shell.exec(['nft', 'insert', 'rule', 'ip', 'wklab', 'postrouting', ...rule.split(' ')]);
    await router.shell.exec(['conntrack', '-F']);
    try {
      await sleep(30_000);
      stoppedAt = Date.now();
      [d, r] = [await p.direct.stop(), await p.relayed.stop()];
      outcomes.portChange = {
        direct: { recoveredMs: recoveredMs(d.replyTimesMs, at, stoppedAt), lost: d.lost },
        relayed: { recoveredMs: recoveredMs(r.replyTimesMs, at, stoppedAt), lost: r.lost },
        transports: await chaos.transports(),
      };
    } finally {
      const { stdout } = await router.shell.exec([
        'nft',
        '-a',
        'list',
        'chain',
        'ip',
        'wklab',
        'postrouting',
      ]);
      const handle = /snat to .*:41820 # handle (\d+)/.exec(stdout)?.[1];
      if (handle)
        await router.shell.exec(['nft', 'delete', 'rule', 'ip', 'wklab', 'postrouting', 'handle', handle]);
      await router.shell.exec(['conntrack', '-F']);
    }
    // How long the direct pair takes to go back to direct after the chaos (a past run once saw cone1↔cone2
    // stay relayed for 90 s): measured and printed, the agents' path events kept in a file for a look.
    const settleStarted = Date.now();
    outcomes.matrixBackMs = await chaos
      .matrixIs(CHAOS_MATRIX, 120_000)
      .then(() => Date.now() - settleStarted)
      .catch(() => `not within 120 s: ${Date.now() - settleStarted} ms`);
    const journal = join(tmpdir(), `chaos-nat-${chaos.lab.id}.log`);
    writeFileSync(
      journal,
      [...chaos.mesh.agents.values()]
        .map(
          (a) =>
            `--- ${a.host.name} ---\n${a.process
              .output()
              .split('\n')
              .filter((l) => PATH_EVENTS.test(l))
              .join('\n')}`,
        )
        .join('\n'),
    );
    outcomes.journal = journal;
    record('natChaos', outcomes);
    const pick = (o: unknown) => {
      const { direct, relayed } = o as Record<'direct' | 'relayed', { recoveredMs: number }>;
      return { direct, relayed };
    };
    const flush = pick(outcomes.flush);
    const port = pick(outcomes.portChange);
    for (const [what, o] of Object.entries({ ...prefix('flush', flush), ...prefix('portChange', port) }))
      expect(o.recoveredMs, `${what}: ${JSON.stringify(outcomes)}\n${chaos.mesh.logs()}`).toBeLessThanOrEqual(
        30_000,
      );
  }, 330_000);
});

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return `(${pid} gone)`;
  }
}

function killIfAlive(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function prefix<T>(name: string, o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [`${name}.${k}`, v]));
}
