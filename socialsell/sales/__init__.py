"""Sales: contacts, lead scoring, follow-up tasks and their SLA."""
