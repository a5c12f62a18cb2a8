# Example: what an agent might propose for a dev environment.
resource "aws_eks_node_group" "gpu" {
  cluster_name    = "dev"
  node_group_name = "gpu"
  instance_types  = ["g5.2xlarge"]

  scaling_config {
    desired_size = 3
    max_size     = 6
    min_size     = 1
  }
}

resource "aws_security_group" "bastion" {
  name = "bastion"

  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_s3_bucket_acl" "site" {
  # agentctl:ignore=aws-s3-public-acl reason="public marketing site" until=2099-12-31
  bucket = "www.example.com"
  acl    = "public-read"
}
