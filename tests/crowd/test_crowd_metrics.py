"""The crowd monitor's metrics are read from the database at each scrape: cameras as the
worker last reported them, people and alert levels of zones and sites."""
from __future__ import annotations

from testkit import metric, scrape


def test_cameras_occupancy_and_levels_are_read_at_the_scrape(post_obs, camera, client, clock,
                                                             app):
    assert post_obs(people=6, areas={"path": 5}, fps=4.5, dropped_frames=3).status_code == 201
    now = scrape(client)
    assert metric(now, "scenic_camera_up", camera="cam-a", site="kongmiao") == 1
    assert metric(now, "scenic_camera_fps", camera="cam-a") == 4.5
    assert metric(now, "scenic_camera_dropped_frames_total", camera="cam-a") == 3
    assert metric(now, "scenic_zone_people", zone="qianyuan") == 5
    assert metric(now, "scenic_zone_alert_level", zone="qianyuan") == 0      # normal
    assert metric(now, "scenic_zone_alert_level", zone="dacheng") == -1      # no camera
    assert metric(now, "scenic_site_people", site="kongmiao") >= 5
    assert metric(now, "scenic_crowd_threshold_ratio", level="warning") == \
        app.config["CROWD_WARNING_RATIO"]
    assert metric(now, "scenic_metrics_collector_up", collector="crowd.metrics.collect") == 1
    # The worker falls silent: the camera is down and the zone's level unknown, never 0.
    clock.advance(seconds=app.config["CROWD_STALE_SECONDS"] + 1)
    later = scrape(client)
    assert metric(later, "scenic_camera_up", camera="cam-a", site="kongmiao") == 0
    assert metric(later, "scenic_zone_alert_level", zone="qianyuan") == -1
    assert ("scenic_zone_people", (("zone", "qianyuan"),)) not in later
