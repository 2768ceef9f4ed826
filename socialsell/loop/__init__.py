"""The loop: the jobs every worker runs (worker), publishing due posts exactly once (publishing),
polling channels for engagements (polling), the leases that let several workers share the work
(leases), metrics refresh (metrics), and what `socialsell status` reports of it (status)."""
