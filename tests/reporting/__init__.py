"""Tests of `forecast.reporting`: portfolios, reports, the page in a browser."""
