// Package tfbench measures nexus side by side with Terraform 1.5.7 on the
// same random DAG: N `target` modules for nexus, N `terraform_data`
// resources with the same depends_on edges for Terraform. For each size it
// times plan, apply and a no-op re-plan of both tools in the same run,
// records their CPU time and peak memory, and renders the comparison as a
// Markdown table (docs/BENCHMARKS.md).
//
// It exists so that the claim "nexus is faster than Terraform at what they
// both do" is a command anyone can rerun (make bench-terraform) rather than
// a number in a slide. Both tools run as real processes from real binaries:
// nexus as a daemon child process driven by its CLI over a unix socket,
// Terraform with a local backend in a temporary directory.
//
// The topology comes from configtest.GenerateDAG, the generator the config,
// planner and executor benchmarks use; ReadNexus reads its module blocks back
// with the HCL parser and DAG.Terraform writes the same graph for Terraform,
// so both tools get the same edges by construction (a test checks it
// against config.Load).
package tfbench
