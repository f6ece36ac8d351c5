region = "us-east-1"
owner  = "platform"
unused = true
