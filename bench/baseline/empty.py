"""An empty page: the chrome floor (bench/baseline/chrome.py) draws only the chrome."""
