"""The demo brand 源味集 and its story (``seed_demo``). Sits on top of every app: nothing imports it."""
