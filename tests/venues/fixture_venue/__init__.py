"""A fixture venue folder, laid out like ``src/basisctl/venues/<name>/``: its registry row here, its downloader
in :mod:`.fetch`, its local 127.0.0.1 server in :mod:`.server`. ``register("tests.venues.fixture_venue")`` is the
one line that adds it (tests/venues/test_fixture_venue.py)."""

from basisctl.venues.spec import VenueSpec

SPEC = VenueSpec("fixturex", "Fixture Exchange", (8.0,), "theta_F = 1/(2 L_max) (half the initial margin)", 0.5,
                 "tests.venues.fixture_venue.fetch:FixtureFunding", "http://127.0.0.1/docs/funding",
                 "http://127.0.0.1/docs/margin", 5.0)
