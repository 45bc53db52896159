"""Offline evaluation: leave-one-out split, ranking metrics, baselines, the funnel replay, reports."""
