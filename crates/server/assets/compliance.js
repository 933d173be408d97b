// Console tab for compliance (registers itself in SR.tabs).
