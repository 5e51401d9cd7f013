"""Tests for ae_core.latent_clicks: a click on the latent plot, from a chart selection and to and
from the text a link holds."""

from __future__ import annotations

import pytest

from ae_core.latent_clicks import PLANE, LatentClick, from_selection


def test_a_selection_names_the_clicked_test_digit_or_the_place_on_the_plane():
    digit = {"points": [{"curve_number": 2, "x": 0.3, "y": 1.0, "customdata": 17}]}
    assert from_selection(digit) == LatentClick(digit=17)
    listed = {"points": [{"x": 0.3, "y": 1.0, "customdata": [4]}]}  # customdata of 2-D arrays
    assert from_selection(listed) == LatentClick(digit=4)
    place = {"points": [{"x": 0.12345, "y": -2.0, "customdata": PLANE}]}
    assert from_selection(place) == LatentClick(code=(0.123, -2.0))
    assert from_selection({"points": [], "box": [], "lasso": []}) is None
    assert from_selection({"points": [{"x": 1.0, "y": 1.0}]}) is None  # the mark: no tag


def test_a_click_goes_into_a_link_and_comes_back():
    for click in (LatentClick(digit=0), LatentClick(digit=1999), LatentClick(code=(0.5, -1.25))):
        assert LatentClick.from_text(click.to_text()) == click
    assert LatentClick(code=(0.5, -1.25)).to_text() == "code:0.5,-1.25"
    for text in ("digit:-1", "digit:x", "code:1", "code:1,2,3", "code:nan,0", "spot:3", "7"):
        with pytest.raises(ValueError, match="digit:<test digit number> or code:<x>,<y>"):
            LatentClick.from_text(text)
    with pytest.raises(ValueError):
        LatentClick()
