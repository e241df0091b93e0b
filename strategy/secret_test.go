package strategy

import "github.com/tokenactor/tokenactor"

func secret(s string) tokenactor.SecretToken { return tokenactor.NewSecretToken(s) }
