"""The HTML report's page template (Jinja2, autoescaped). Inline CSS only: the file is opened
offline, so it links nothing."""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>promptsearch report</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto;
       max-width: 1180px; color: #222; padding: 0 16px; }
h1 { font-size: 24px; } h2 { font-size: 19px; border-top: 2px solid #ddd; padding-top: 16px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0 20px; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 4px 8px; }
th { background: #f4f4f4; text-align: left; } td.num { text-align: right; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.charts svg { border: 1px solid #e3e3e3; }
pre { background: #f7f7f7; padding: 10px; white-space: pre-wrap; font-size: 12px;
      border: 1px solid #e3e3e3; max-width: 1140px; }
.add { color: #116329; background: #e6ffec; display: block; }
.del { color: #82071e; background: #ffebe9; display: block; }
.ctx { display: block; } .meta { color: #555; font-size: 13px; }
</style>
</head>
<body>
<h1>promptsearch report</h1>
<p class="meta">Generated {{ created }}. Scores are in 0–1, with the task's metric; test
scores carry a 95% interval (Wilson's for a share of right answers, BCa otherwise); Δ seed is
the paired difference from the seed prompt on the same test examples, with a permutation-test
p-value corrected (Holm) for the finalists compared with the seed.</p>
<h2>Leaderboard</h2>
{{ board }}
{% if models %}
<h2>Models side by side</h2>
<p>Each model's winner on test, 95% interval, a row per task and strategy.</p>
{{ models }}
{% endif %}
{% for s in sections %}
<section id="task-{{ s.name }}">
<h2>{{ s.name }}</h2>
<p class="meta">Winner: {{ s.winner.key_id }} ({{ s.winner.strategy }}, {{ s.winner.model }}) ·
test {{ "%.2f"|format(s.winner.test) }} [{{ "%.2f"|format(s.winner.test_lo) }},
{{ "%.2f"|format(s.winner.test_hi) }}] · dev {{ "%.2f"|format(s.winner.dev) }}</p>
<div class="charts">
{{ s.curve }}
{{ s.length }}
{% if s.confusion %}{{ s.confusion }}{% endif %}
</div>
<h3>The winning key, rendered for one input</h3>
<pre>{{ s.prompt }}</pre>
{% if s.diff %}
<h3>Diff against the seed prompt</h3>
<pre>{% for cls, line in s.diff %}<span class="{{ cls }}">{{ line }}</span>{% endfor %}</pre>
{% endif %}
{% if s.feedback %}
<h3>What the metric said about the winner's wrong test answers</h3>
<table><tr><th>target</th><th>answer</th><th>feedback</th></tr>
{% for row in s.feedback %}<tr><td>{{ row.target }}</td><td>{{ row.prediction }}</td>
<td>{{ row.text }}</td></tr>
{% endfor %}</table>
{% endif %}
</section>
{% endfor %}
</body>
</html>
"""
