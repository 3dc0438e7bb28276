"""Real worlds: clusters through the k3d/kind CLIs, Nautes through its installer; preflight, plan, prune."""
