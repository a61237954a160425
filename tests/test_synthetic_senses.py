"""The synthetic GPS and IMU tell the truth of each scenario: speed, distance driven, the
crash pulse at contact in ``brake``, the knock in ``parked``; paced from their opening."""

import math
import threading

import pytest

from dashcam.senses import Fix, Sample
from dashcam.synthetic.scenarios import (CRASH_S, EGO_SPEED, KNOCK_AT_S, KNOCK_S, PERIOD_S,
                                         collision_time)
from dashcam.synthetic.senses import HEADING_DEG, ORIGIN, open_gps, open_imu

T0_UTC = 1700000000.0


class FakeClock:
    def __init__(self, t=100.0):
        self.t = t

    def __call__(self):
        return self.t


def metres(a, b):
    """Great-circle distance between two fixes (haversine)."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


def fixes(scenario, seconds):
    clock = FakeClock()
    gps = open_gps(scenario, clock=clock, wall_clock=lambda: T0_UTC)
    out = []
    for k in range(int(seconds) + 1):
        clock.t = 100.0 + k
        fix = gps.read(0)
        assert isinstance(fix, Fix) and gps.read(0) is None   # one a second, no more
        out.append(fix)
    return out


def trace(scenario, seconds, read_every=0.37):
    clock = FakeClock()
    imu = open_imu(scenario, seed=3, clock=clock, wall_clock=lambda: T0_UTC)
    samples = []
    while clock.t < 100.0 + seconds:
        clock.t = min(clock.t + read_every, 100.0 + seconds)
        batch = imu.read(0)
        assert all(isinstance(s, Sample) for s in batch)
        samples.extend(batch)
    return samples


def test_gps_of_brake_drives_at_ego_speed_and_stops_at_contact():
    track = fixes("brake", 2 * PERIOD_S)
    contact = collision_time("brake")
    assert [f.time - T0_UTC for f in track] == list(range(len(track)))
    for fix in track:
        tau = fix.time - T0_UTC - PERIOD_S * ((fix.time - T0_UTC) // PERIOD_S)
        assert fix.speed == (EGO_SPEED if tau < contact else 0.0), fix
        assert fix.mode == 3 and fix.heading == HEADING_DEG and fix.alt == ORIGIN[2]
    assert track[0][1:3] == pytest.approx(ORIGIN[:2])
    for a, b in zip(track, track[1:]):
        if a.speed and b.speed:
            assert metres(a, b) == pytest.approx(EGO_SPEED, abs=0.01)   # one second's drive
        if not a.speed and not b.speed:
            assert metres(a, b) == pytest.approx(0.0, abs=1e-6)
    # along the heading: north and east in its proportions
    north = track[5].lat - track[0].lat
    east = (track[5].lon - track[0].lon) * math.cos(math.radians(ORIGIN[0]))
    assert math.degrees(math.atan2(east, north)) == pytest.approx(HEADING_DEG, abs=0.01)


def test_gps_of_parked_stands_still_and_of_follow_never_stops():
    assert {(f.lat, f.lon, f.speed) for f in fixes("parked", 9)} == {(ORIGIN[0], ORIGIN[1], 0.0)}
    follow = fixes("follow", 9)
    assert {f.speed for f in follow} == {EGO_SPEED}
    assert metres(follow[0], follow[-1]) == pytest.approx(9 * EGO_SPEED, abs=0.1)


def test_imu_of_brake_is_quiet_until_a_crash_pulse_at_contact():
    samples = trace("brake", PERIOD_S)
    assert len(samples) == pytest.approx(PERIOD_S * 100, abs=1)
    steps = {round(b.t - a.t, 6) for a, b in zip(samples, samples[1:])}
    assert steps == {0.01}
    assert sum(s.az for s in samples) / len(samples) == pytest.approx(1.0, abs=0.002)  # gravity
    contact = collision_time("brake")
    pulse = [s for s in samples if contact <= s.t - 100.0 < contact + CRASH_S]
    quiet = [s for s in samples if s not in pulse]
    assert max(abs(s.ax) for s in quiet) < 0.03 and max(abs(s.ay) for s in samples) < 0.03
    peak = min(pulse, key=lambda s: s.ax)
    assert peak.ax == pytest.approx(-EGO_SPEED * math.pi / 2 / CRASH_S / 9.80665, abs=0.1)
    assert peak.t - 100.0 == pytest.approx(contact + CRASH_S / 2, abs=0.011)
    # the pulse takes our whole speed: its integral is EGO_SPEED
    assert sum(s.ax for s in pulse) * 0.01 * 9.80665 == pytest.approx(-EGO_SPEED, rel=0.05)


def test_imu_of_parked_feels_one_knock_of_one_to_two_g_per_repetition():
    samples = trace("parked", 2 * PERIOD_S)
    jolts = [s for s in samples if abs(s.ax) > 0.5]
    assert jolts
    for rep in (0, 1):
        at = [s.t - 100.0 - rep * PERIOD_S for s in jolts if rep * PERIOD_S <= s.t - 100.0
              < (rep + 1) * PERIOD_S]
        assert at and KNOCK_AT_S <= min(at) and max(at) < KNOCK_AT_S + KNOCK_S
    assert 1.0 <= max(abs(s.ax) for s in jolts) <= 2.0
    assert all(abs(s.ax) < 0.03 for s in samples if s not in jolts)


def test_follow_is_quiet_and_the_noise_is_the_seeds():
    a, b = trace("follow", 3), trace("follow", 3)
    assert a == b and max(abs(s.ax) for s in a) < 0.03
    assert len({round(s.ax, 6) for s in a}) > 100       # noise, not a constant


def test_a_reader_late_by_seconds_gets_the_newest_second_of_samples():
    clock = FakeClock()
    imu = open_imu("follow", clock=clock, wall_clock=lambda: T0_UTC)
    clock.t += 3.5
    batch = imu.read(0)
    assert len(batch) == 100 and batch[-1].t == pytest.approx(103.5)
    assert imu.read(0) == []
    gps = open_gps("follow", clock=clock, wall_clock=lambda: T0_UTC)
    clock.t += 2.2
    assert gps.read(0).time == T0_UTC + 2.0                # the newest fix, not the oldest


def test_read_waits_for_the_next_reading_and_close_ends_the_wait():
    gps = open_gps("parked")
    assert gps.read(0) is not None      # the first fix is due at the opening
    got = []
    reader = threading.Thread(target=lambda: got.append(gps.read(30.0)))
    reader.start()
    gps.close()
    reader.join(5.0)
    assert not reader.is_alive() and got == [None]
    with pytest.raises(ValueError, match="scenario"):
        open_imu("drift")


def test_in_the_plain_world_each_scene_is_driven_at_its_own_speed():
    from dashcam.synthetic import SyntheticWorld

    world = SyntheticWorld(seed=7, width=64, height=64, fps=1.0)
    clock = FakeClock()
    gps = open_gps(None, seed=7, clock=clock, wall_clock=lambda: T0_UTC)
    track = []
    for k in range(130):          # into the third block of scenes
        clock.t = 100.0 + k
        track.append(gps.read(0))
    for k, (a, b) in enumerate(zip(track, track[1:])):
        scene, _, tau = world.scene_at(k)
        assert a.speed == scene.ego_speed
        if tau + 1.0 < scene.duration:          # both in one scene: a second's drive
            assert metres(a, b) == pytest.approx(scene.ego_speed, abs=0.01)
    assert len({f.speed for f in track}) > 3
    imu = open_imu(None, seed=7, clock=clock, wall_clock=lambda: T0_UTC)
    clock.t += 1.0
    assert max(abs(s.ax) for s in imu.read(0)) < 0.03
