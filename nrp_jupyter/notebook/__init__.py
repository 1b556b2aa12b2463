"""What runs in a user's notebook kernel (or any Python process that talks to the server): the
REST client (`client`), the control panel widget (`panel`) and the `%nrp` magic (`magics`).

Nothing here runs in the Jupyter server. Importing this package imports none of its modules:
the client needs no widget library, and the server never loads any of it."""
