"""Argo Events v1.7 as Nautes uses it: GitLab event sources (hooks and webhook endpoints) and Sensors
whose Kubernetes triggers create the init PipelineRun."""
