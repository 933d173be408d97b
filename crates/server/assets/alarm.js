// Console tab for alarm (registers itself in SR.tabs).
